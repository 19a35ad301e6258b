/**
 * Questions: what does one insert cost the embedded engine, by table kind and by row count? And
 * what does the insert format cost on the rows a flush really writes? The
 * flush policy (engine/flush-policy.ts) rests on the answer: if an insert's fixed cost
 * dominates small flushes, a worker that flushes every partition every second while it catches up
 * on a backlog spends its time on fixed costs, not on rows.
 * Baselines in the same run: a Memory table (no parts at all) and a plain MergeTree (one part);
 * for the format, the sink's previous path (JSONEachRow, the engine collapsing each block on insert)
 * on the same rows, into a fresh copy of the same tables.
 *
 * Run: npx tsx bench/inserts.ts   (no services needed: embedded chDB in a temporary directory)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventGenerator } from '../generator/index.js'
import { jsonEncoder, EVENT_TYPES } from '../schemas/index.js'
import { connectClickHouse, insertRows, migrate } from '../sinks/index.js'
import { jsonCompactEachRow, jsonCompactEachRowPerRow, jsonEachRow } from '../sinks/clickhouse/insert.js'
import { streamProcessors } from './processors.js'
import { fmt, machine, writeSection } from './report.js'

const dataDir = mkdtempSync(join(tmpdir(), 'bench-inserts-'))
const ch = await connectClickHouse({ url: null, database: 'bench_inserts', dataDir })
await migrate(ch)
const command = (query: string) => ch.client.command({ query })
await command(`CREATE TABLE b_memory (a UInt32, b String) ENGINE = Memory`)
await command(`CREATE TABLE b_plain (a UInt32, b String) ENGINE = MergeTree ORDER BY a SETTINGS non_replicated_deduplication_window = 1000`)
await command(`CREATE TABLE b_agg (a UInt32, b SimpleAggregateFunction(sum, UInt64)) ENGINE = AggregatingMergeTree ORDER BY a SETTINGS non_replicated_deduplication_window = 1000`)
await command(`CREATE TABLE b_agg_h (a UInt32, b SimpleAggregateFunction(sum, UInt64)) ENGINE = AggregatingMergeTree ORDER BY a`)
await command(`CREATE MATERIALIZED VIEW b_agg_mv TO b_agg_h AS SELECT a, sum(b) AS b FROM b_agg GROUP BY a`)

const minute = Math.floor(Date.now() / 60_000) * 60
let token = 0
async function perInsert(table: string, rows: number, row: (i: number) => Record<string, unknown>): Promise<number> {
  const reps = Math.max(5, Math.min(100, Math.floor(20_000 / rows)))
  const batch = Array.from({ length: rows }, (_, i) => row(i))
  await insertRows(ch, table, batch, { deduplicationToken: `warm-${token++}`, partialAggregates: true })
  const start = performance.now()
  for (let r = 0; r < reps; r++) await insertRows(ch, table, batch, { deduplicationToken: `t-${token++}`, partialAggregates: true })
  return (performance.now() - start) / reps
}

const kinds: [string, string, (i: number) => Record<string, unknown>][] = [
  ['Memory table (baseline: no part written)', 'b_memory', (i) => ({ a: i, b: 'x' })],
  ['MergeTree, dedup window (baseline: one part)', 'b_plain', (i) => ({ a: i, b: 'x' })],
  ['AggregatingMergeTree + 1 materialized view', 'b_agg', (i) => ({ a: i, b: 1 })],
  [
    'products_minute (cube + hour and day views)',
    'products_minute',
    (i) => ({ window_start: minute - 60 * (i % 100), community_id: `c${i % 50}`, sku: `s${i}`, category_id: 'cat', qty: 1, gmv_cents: 100, orders: 1 }),
  ],
  [
    'heatmap_minute (cube with uniq state + views)',
    'heatmap_minute',
    (i) => ({ window_start: minute - 60 * (i % 100), precision: 7, cell: `wtm${i}`, community_id: `c${i % 50}`, orders: 1, gmv_cents: 100, users: JSON.stringify(['u1', 'u2']) }),
  ],
]
const sizes = [1, 100, 10_000]
const lines = [`| table | ${sizes.map((n) => `ms/insert, ${fmt(n)} rows`).join(' | ')} | rows/s at ${fmt(sizes.at(-1)!)} rows |`, `|---|${sizes.map(() => '---:|').join('')}---:|`]
for (const [label, table, row] of kinds) {
  const ms: number[] = []
  for (const n of sizes) ms.push(await perInsert(table, n, row))
  lines.push(`| ${label} | ${ms.map((m) => m.toFixed(1)).join(' | ')} | ${fmt((sizes.at(-1)! / ms.at(-1)!) * 1000)} |`)
  console.log(lines.at(-1))
}
// The rows of real flushes: 200k generated events through every pipeline, flushed every 20k
// records per stream (the size of a catching-up flush), inserted 10k rows at a time.
const flushes: { table: string; rows: Record<string, unknown>[] }[] = []
{
  const processors = [...streamProcessors().values()] // in EVENT_TYPES order
  const offsets = [0, 0, 0]
  const take = (i: number) => {
    const plan = processors[i]!.takeFlush()
    for (const tables of plan?.rows.values() ?? []) for (const [table, rows] of tables) for (let j = 0; j < rows.length; j += 10_000) flushes.push({ table, rows: rows.slice(j, j + 10_000) as Record<string, unknown>[] })
  }
  for (const r of new EventGenerator({ seed: 3, start: Date.now() - 2 * 86_400_000 }).take(200_000)) {
    const i = EVENT_TYPES.indexOf(r.type)
    processors[i]!.handle({ offset: String(offsets[i]!++), key: null, value: jsonEncoder.encode(r.event), headers: {}, timestamp: String(Date.now()) })
    if (offsets[i]! % 20_000 === 0) take(i)
  }
  for (let i = 0; i < processors.length; i++) take(i)
}
const formatTables = ['behaviour_events', 'order_events', 'heatmap_minute', 'activity_minute', 'gmv_minute', 'products_minute']
const formats: Record<string, { before: number; after: number; rows: number }> = {}
for (const table of formatTables) {
  const jobs = flushes.filter((f) => f.table === table)
  const rows = jobs.reduce((n, j) => n + j.rows.length, 0)
  const timed = async (insert: (rows: Record<string, unknown>[], token: string) => Promise<unknown>) => {
    await command(`TRUNCATE TABLE ${table}`)
    const start = performance.now()
    for (const job of jobs) await insert(job.rows, `fmt-${token++}`)
    return performance.now() - start
  }
  // Each path twice, alternating, the better of each (the first pass also warms the tables).
  const before = (rows: Record<string, unknown>[], t: string) =>
    ch.rawInsert!({ table, values: jsonEachRow(rows), format: 'JSONEachRow', settings: { insert_deduplication_token: t, insert_deduplicate: 1, deduplicate_blocks_in_dependent_materialized_views: 1, async_insert: 0, aggregate_function_input_format: 'array' } })
  const after = (rows: Record<string, unknown>[], t: string) => insertRows(ch, table, rows, { deduplicationToken: t, partialAggregates: true })
  const b1 = await timed(before)
  const a1 = await timed(after)
  const b2 = await timed(before)
  const a2 = await timed(after)
  formats[table] = { before: Math.min(b1, b2), after: Math.min(a1, a2), rows }
  console.log(table, formats[table])
}
const formatLines = [
  '| table | rows | JSONEachRow, collapsed on insert (baseline: the previous path) ms | JSONCompactEachRow + column list, optimize_on_insert = 0 for cubes ms | after / before |',
  '|---|---:|---:|---:|---:|',
  ...formatTables.map((t) => { const f = formats[t]!; return `| ${t} | ${fmt(f.rows)} | ${fmt(f.before)} | ${fmt(f.after)} | ${(f.after / f.before).toFixed(2)} |` }),
]

// Serialising alone (JS, no engine): the same rows as JSONCompactEachRow bytes, one native
// serialiser call per batch (the sink's builder) against a call and a concatenation per row (the
// previous builder, the baseline). The best of five passes each, alternating.
const serialising = formatTables.map((table) => {
  const jobs = flushes.filter((f) => f.table === table)
  const rows = jobs.reduce((n, j) => n + j.rows.length, 0)
  const pass = (encode: (rows: Record<string, unknown>[]) => Buffer) => {
    const start = performance.now()
    let bytes = 0
    for (const job of jobs) bytes += encode(job.rows).length
    return { ms: performance.now() - start, bytes }
  }
  let before = Number.POSITIVE_INFINITY
  let after = Number.POSITIVE_INFINITY
  for (let i = 0; i < 5; i++) {
    before = Math.min(before, pass(jsonCompactEachRowPerRow).ms)
    after = Math.min(after, pass(jsonCompactEachRow).ms)
  }
  return { table, rows, before, after }
})
const serialiseLines = [
  '| table | rows | a call and a concatenation per row (baseline: the previous builder) ms | one serialiser call per batch ms | after / before |',
  '|---|---:|---:|---:|---:|',
  ...serialising.map((x) => `| ${x.table} | ${fmt(x.rows)} | ${x.before.toFixed(1)} | ${x.after.toFixed(1)} | ${(x.after / x.before).toFixed(2)} |`),
]
console.log(serialiseLines.join('\n'))

const selectStart = performance.now()
for (let r = 0; r < 50; r++) await ch.client.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then((x) => x.json())
const selectMs = (performance.now() - selectStart) / 50
await ch.close()
rmSync(dataDir, { recursive: true, force: true })

writeSection(
  'inserts',
  `### Inserts into the embedded engine: fixed cost per insert

Question: what does one insert cost, by table kind and row count? (It sets the flush policy.)
Command: \`npx tsx bench/inserts.ts\` — ${machine()}; embedded chDB, the sink's insertRows through chDB's raw insert, a deduplication token on every insert.

${lines.join('\n')}

A round trip of \`SELECT 1\` on the same connection: ${selectMs.toFixed(1)} ms.

The insert format, on the rows real flushes write (200k generated events through every pipeline,
flushes of 20k records per stream, inserts of up to 10k rows; serialising included; the better of
two passes each):

${formatLines.join('\n')}

Serialising alone (JS, no engine), the same rows as JSONCompactEachRow bytes, the better of five
passes each:

${serialiseLines.join('\n')}`,
)

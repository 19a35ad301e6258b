/**
 * Question: what does one insert into a stream table cost the embedded engine, by its rows and by
 * how many of the table's views have work? (Every view of a stream table runs for every block,
 * its pipeline's bit set in `pipes` or not; the flush policy's rounds rest on the answer: a
 * worker pays this price per table insert, so partitions that flush apart pay it per partition.)
 * Baseline in the same run: a Null table of the same columns without views (the block parsed and
 * dropped). CPU is the process's, all threads (the insert runs on the engine's threads).
 *
 * Run: npx tsx bench/stream-inserts.ts   (no services needed: embedded chDB in a temporary directory)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipesMask, STREAM_COLUMNS, STREAM_TABLES, StreamChunks, streamRow } from '../engine/index.js'
import { EventGenerator } from '../generator/index.js'
import { activity, facts, gmv, PIPELINES } from '../pipelines/index.js'
import type { TypedEvent } from '../schemas/index.js'
import { connectClickHouse, insertText, migrate } from '../sinks/index.js'
import { fmt, machine, writeSection } from './report.js'

const dataDir = mkdtempSync(join(tmpdir(), 'bench-stream-inserts-'))
const ch = await connectClickHouse({ url: null, database: 'bench_stream_inserts', dataDir })
await migrate(ch)
const STREAMS = ['behaviour', 'order'] as const
for (const type of STREAMS) {
  await ch.client.command({ query: `CREATE TABLE ${type}_bare AS ${STREAM_TABLES[type]} ENGINE = Null` })
  // The stream tables' columns before migration 0012: the raw facts' types, LowCardinality included.
  await ch.client.command({ query: `CREATE TABLE ${type}_lowcard AS ${type}_events ENGINE = Null` })
  await ch.client.command({ query: `ALTER TABLE ${type}_lowcard ADD COLUMN pipes UInt64` })
}

const SIZES = [1, 1_000, 10_000]
const events: Record<(typeof STREAMS)[number], TypedEvent[]> = { behaviour: [], order: [] }
for (const r of new EventGenerator({ seed: 5, start: Date.UTC(2026, 10, 15, 16) })) {
  if (r.type !== 'inventory' && events[r.type].length < SIZES.at(-1)!) events[r.type].push(r.event)
  if (STREAMS.every((t) => events[t].length >= SIZES.at(-1)!)) break
}

const viewCounts = (await (await ch.client.query({ query: `SELECT name, length(dependencies_table) AS views FROM system.tables WHERE database = currentDatabase() AND name IN ('behaviour_stream', 'order_stream')`, format: 'JSONEachRow' })).json()) as { name: string; views: number }[]

let token = 0
/** Wall and CPU ms per insert of `rows` events into `table`, with this pipes mask (the median of 3 passes). */
async function perInsert(type: (typeof STREAMS)[number], table: string, rows: number, pipes: number): Promise<{ wall: number; cpu: number }> {
  const chunks = new StreamChunks()
  for (let i = 0; i < rows; i++) chunks.push(streamRow(events[type][i]!, { topic: 'bench', partition: 0, offset: String(i) }, pipes))
  const { payload } = chunks.take(table, STREAM_COLUMNS[type])!
  const reps = Math.max(5, Math.min(20, Math.floor(50_000 / rows)))
  // The flush's own call and settings (engine/flush.ts).
  const insert = () => insertText(ch, table, STREAM_COLUMNS[type], payload.bytes, rows, { deduplicationToken: `t-${token++}`, partialAggregates: true })
  await insert() // warm: the views' first block
  const passes: { wall: number; cpu: number }[] = []
  for (let p = 0; p < 3; p++) {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    for (let r = 0; r < reps; r++) await insert()
    const cpu = process.cpuUsage(cpu0)
    passes.push({ wall: (performance.now() - t0) / reps, cpu: (cpu.user + cpu.system) / 1e3 / reps })
  }
  passes.sort((a, b) => a.cpu - b.cpu)
  return passes[1]!
}

const core = [facts, gmv, activity]
const variants = (type: (typeof STREAMS)[number]): [string, string, number][] => [
  [`a Null table of ${STREAM_TABLES[type]}'s columns, no views (baseline)`, `${type}_bare`, 0],
  [`a Null table of the raw facts' columns (LowCardinality, as the stream tables had before migration 0012), no views`, `${type}_lowcard`, 0],
  [`${STREAM_TABLES[type]}: every view idle (pipes = 0)`, STREAM_TABLES[type], 0],
  [`${STREAM_TABLES[type]}: facts + gmv + activity`, STREAM_TABLES[type], pipesMask(core, type)],
  [`${STREAM_TABLES[type]}: all pipelines`, STREAM_TABLES[type], pipesMask(PIPELINES, type)],
]
const lines = [`| insert into | ${SIZES.map((n) => `${fmt(n)} rows: CPU / wall ms`).join(' | ')} |`, `|---|${SIZES.map(() => '---:|').join('')}`]
for (const type of STREAMS)
  for (const [label, table, pipes] of variants(type)) {
    const cells: string[] = []
    for (const n of SIZES) {
      const r = await perInsert(type, table, n, pipes)
      cells.push(`${r.cpu.toFixed(1)} / ${r.wall.toFixed(1)}`)
    }
    lines.push(`| ${label} | ${cells.join(' | ')} |`)
    console.log(lines.at(-1))
  }
await ch.close()
rmSync(dataDir, { recursive: true, force: true })

writeSection(
  'stream-inserts',
  `### One insert into a stream table: the price of its views
Question: what does one insert into a stream table cost the engine, by rows and by how many of its views have work? (The flush rounds of issue 17 rest on it.) And what does parsing into LowCardinality columns cost (the stream tables' types before migration 0012)?
Command: \`npx tsx bench/stream-inserts.ts\` — ${machine()}; embedded chDB, the flush's own insert call and settings (a deduplication token on every insert); generated events; CPU of the process, all threads, per insert (the middle of three passes).
Views: ${viewCounts.map((v) => `${v.name} has ${v.views}`).join(', ')} (one or two for each pipeline that reads the stream); each runs for every block, its bit in \`pipes\` set or not; the cube views' own hour and day rollups follow.

${lines.join('\n')}`,
)

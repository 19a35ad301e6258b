/**
 * Question: how much would the engine gain by running decode → validate → accumulate → encode in a
 * worker thread, leaving the main thread only the inserts (the embedded engine must stay on the
 * main thread: it aborts in a worker)? This is the design question behind the engine's next step;
 * the engine itself still runs its processors on the main thread.
 *
 * Baseline in the same run: the same pre-encoded records through the same processors and the same
 * encoding on the main thread. Both modes: 200k generated events (the engine benchmark's backlog),
 * every pipeline, a flush every 50k records per stream, batches of 5k records, the sink's insert
 * settings, each mode into a fresh database; twice each, alternating, the better of each.
 * Run: npx tsx bench/worker-threads.ts   (no services: embedded chDB in a temporary directory)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { EventGenerator } from '../generator/index.js'
import { type PartitionProcessor } from '../engine/index.js'
import { EVENT_TYPES, jsonEncoder, type EventType } from '../schemas/index.js'
import { connectClickHouse, migrate, type ClickHouse } from '../sinks/index.js'
import { encodeRows, insertEncoded } from '../sinks/clickhouse/insert.js'
import type { HostBatch, HostInsert } from './worker-threads-host.js'
import { streamProcessors } from './processors.js'
import { fmt, machine, writeSection } from './report.js'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000)
const BATCH = 5_000
const FLUSH_EVERY = 50_000
const dataDir = mkdtempSync(join(tmpdir(), 'bench-wt-'))
const records = new EventGenerator({ seed: 1, start: Date.now() - 2 * 86_400_000 }).take(EVENTS).map((r) => ({ type: r.type, value: jsonEncoder.encode(r.event) }))

/** The batches both modes see: per stream, BATCH records, flagged where a flush follows. */
function batches(): { type: EventType; values: Buffer[]; flush: boolean }[] {
  const out: { type: EventType; values: Buffer[]; flush: boolean }[] = []
  const open = new Map<EventType, Buffer[]>(EVENT_TYPES.map((t) => [t, []]))
  const seen = new Map<EventType, number>(EVENT_TYPES.map((t) => [t, 0]))
  for (const r of records) {
    const b = open.get(r.type) as Buffer[]
    b.push(r.value)
    const n = (seen.get(r.type) as number) + 1
    seen.set(r.type, n)
    if (b.length === BATCH) {
      out.push({ type: r.type, values: b, flush: n % FLUSH_EVERY === 0 })
      open.set(r.type, [])
    }
  }
  for (const t of EVENT_TYPES) out.push({ type: t, values: open.get(t) as Buffer[], flush: true })
  return out
}
const plan = batches()
// One arrival time for every record: the data-quality rows (by arrival minute) are then the same in both modes.
const ARRIVAL = String(Date.now())

let run = 0
async function fresh(): Promise<ClickHouse> {
  const ch = await connectClickHouse({ url: null, database: `wt_${run++}`, dataDir })
  await migrate(ch)
  return ch
}
const options = (table: string, i: number) => ({ deduplicationToken: `bench/${run}/${table}/${i}`, partialAggregates: true })

async function mainThread(): Promise<{ ms: number; cpuMs: number; rows: number }> {
  const ch = await fresh()
  const processors = streamProcessors()
  const offsets = new Map<EventType, number>(EVENT_TYPES.map((t) => [t, 0]))
  const inflight: Promise<void>[] = []
  let i = 0
  let rows = 0
  const cpu = process.cpuUsage()
  const start = performance.now()
  for (const b of plan) {
    const p = processors.get(b.type) as PartitionProcessor
    let offset = offsets.get(b.type) as number
    const timestamp = ARRIVAL
    for (const value of b.values) p.handle({ offset: String(offset++), key: null, value, headers: {}, timestamp })
    offsets.set(b.type, offset)
    const flush = b.flush ? p.takeFlush() : null
    for (const tables of flush?.rows.values() ?? []) {
      for (const [table, tableRows] of tables) {
        if (tableRows.length === 0) continue
        rows += tableRows.length
        inflight.push(insertEncoded(ch, table, encodeRows(tableRows), options(table, i++)))
      }
    }
    // Yield so that inserts overlap the next batch, as the engine's flushes overlap decoding.
    await new Promise((r) => setImmediate(r))
  }
  await Promise.all(inflight)
  const used = process.cpuUsage(cpu)
  await ch.close()
  return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, rows }
}

async function workerThread(): Promise<{ ms: number; cpuMs: number; rows: number }> {
  const ch = await fresh()
  const worker = new Worker(new URL('./worker-threads-boot.mjs', import.meta.url))
  const inflight: Promise<void>[] = []
  let i = 0
  let rows = 0
  let replies = 0
  let done: () => void = () => {}
  const finished = new Promise<void>((r) => (done = r))
  worker.on('message', (inserts: HostInsert[]) => {
    for (const x of inserts) {
      rows += x.rows
      inflight.push(insertEncoded(ch, x.table, { format: x.format, columns: x.columns, values: Buffer.from(x.values), rows: x.rows }, options(x.table, i++)))
    }
    if (++replies === plan.length) done()
  })
  const cpu = process.cpuUsage()
  const start = performance.now()
  for (const b of plan) {
    const size = b.values.reduce((n, v) => n + v.length, 0)
    const all = Buffer.allocUnsafeSlow(size)
    const ends = new Int32Array(b.values.length)
    let o = 0
    b.values.forEach((v, k) => {
      v.copy(all, o)
      o += v.length
      ends[k] = o
    })
    const msg: HostBatch = { type: b.type, values: all.buffer as ArrayBuffer, ends, flush: b.flush, timestamp: ARRIVAL }
    worker.postMessage(msg, [all.buffer as ArrayBuffer])
  }
  await finished
  await Promise.all(inflight)
  const used = process.cpuUsage(cpu)
  await worker.terminate()
  await ch.close()
  return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, rows }
}

const results = { main: [] as Awaited<ReturnType<typeof mainThread>>[], worker: [] as Awaited<ReturnType<typeof workerThread>>[] }
for (let k = 0; k < 2; k++) {
  results.main.push(await mainThread())
  console.log('main thread', results.main.at(-1))
  results.worker.push(await workerThread())
  console.log('worker thread', results.worker.at(-1))
}
rmSync(dataDir, { recursive: true, force: true })
const best = <T extends { ms: number }>(xs: T[]) => xs.reduce((a, b) => (b.ms < a.ms ? b : a))
const m = best(results.main)
const w = best(results.worker)
if (m.rows !== w.rows) throw new Error(`the modes inserted different row counts: ${m.rows} vs ${w.rows}`)
const line = (label: string, r: { ms: number; cpuMs: number }) => `| ${label} | ${fmt((EVENTS * 1000) / r.ms)} | ${fmt(r.ms)} | ${fmt(r.cpuMs)} | ${(r.cpuMs / r.ms).toFixed(2)} |`
writeSection(
  'worker-threads',
  `### Processors in a worker thread: what would the engine gain?

Question: how much faster are decode → validate → accumulate → encode in a worker thread, with only the inserts on the main thread (the embedded engine cannot leave it)? The engine does not do this yet; this measures the design.
Command: \`npx tsx bench/worker-threads.ts\` — ${machine()}; ${fmt(EVENTS)} generated events pre-encoded as JSON, every pipeline, a flush every ${fmt(FLUSH_EVERY)} records per stream, ${fmt(m.rows)} rows inserted into embedded chDB by both modes; the better of two runs each, alternating.

| mode | events/s | wall ms | CPU ms (process, all threads) | cores busy |
|---|---:|---:|---:|---:|
${line('main thread (baseline: the engine today)', m)}
${line('worker thread + inserts on the main thread', w)}

Worker / main-thread events/s: ${(m.ms / w.ms).toFixed(2)}.`,
)
console.log(`worker / main: ${(m.ms / w.ms).toFixed(2)}`)

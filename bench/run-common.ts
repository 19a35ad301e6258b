import { execFileSync } from 'node:child_process'
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLocalBroker } from '../scripts/kafka/broker.js'
import type { Admin } from 'kafkajs'
import { connectClickHouse, type ClickHouse } from '../sinks/index.js'

/** Samples the process's RSS every 50 ms; stop() returns the peak (bytes). */
export function peakRssSampler(): { stop(): number } {
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 50)
  return {
    stop() {
      clearInterval(timer)
      return Math.max(peak, process.memoryUsage().rss)
    },
  }
}

/** What the cubes and raw facts hold, for the bench's check against the generator's truth. */
export async function cubeTotals(ch: ClickHouse): Promise<{ gmv: number; facts: number; activityEvents: number }> {
  const rs = await ch.client.query({
    query: `SELECT (SELECT sum(gmv_cents) FROM gmv_minute) AS gmv,
                   (SELECT count() FROM behaviour_events) + (SELECT count() FROM order_events) + (SELECT count() FROM inventory_events) AS facts,
                   (SELECT sum(events) FROM activity_minute) AS activity`,
    format: 'JSONEachRow',
  })
  const [r] = await rs.json<{ gmv: string; facts: string; activity: string }>()
  // BENCH_PARTS (bench/vs-kafka-engine.ts): every table's active parts, and how deep merges went.
  if (process.env.BENCH_PARTS) {
    const parts = await ch.client.query({ query: "SELECT table, count() AS parts, sum(rows) AS n, max(max_block_number) AS inserts, max(level) AS lvl, sum(rows * level) AS rewritten, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = currentDatabase() AND active GROUP BY table ORDER BY rewritten DESC", format: 'JSONEachRow' })
    appendFileSync(process.env.BENCH_PARTS, `${process.argv[1]} ${JSON.stringify(await parts.json())}\n`)
  }
  return { gmv: Number(r?.gmv ?? 0), facts: Number(r?.facts ?? 0), activityEvents: Number(r?.activity ?? 0) }
}

/**
 * CPU seconds of this process's threads so far, by thread name (Linux /proc): the JS main thread
 * is the process's own name (`node`), the embedded engine's pools have names of their own.
 */
export function threadCpu(): Record<string, number> {
  const out: Record<string, number> = {}
  const tick = 100 // USER_HZ
  let tasks: string[] = []
  try {
    tasks = readdirSync('/proc/self/task')
  } catch {
    return out
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const cpu = (Number(fields[11]) + Number(fields[12])) / tick
      const key = tid === String(process.pid) ? 'main (JS)' : name.replace(/[0-9]+$/, '')
      out[key] = (out[key] ?? 0) + cpu
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out
}

/** KAFKA_BROKERS, or a local broker from the project's jars in a temporary directory (stop() removes it). */
export async function benchBroker(partitions: number): Promise<{ brokers: string; note: string; stop(): Promise<void> }> {
  const given = process.env.KAFKA_BROKERS
  if (given) return { brokers: given, note: `KAFKA_BROKERS=${given}`, stop: async () => {} }
  const dir = mkdtempSync(join(tmpdir(), 'bench-kafka-'))
  const b = await startLocalBroker({ dataDir: dir, partitions })
  return {
    brokers: b.brokers,
    note: `local Kafka ${b.version} on the same machine (-Xmx512m)`,
    async stop() {
      await b.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * True once the group has committed every non-empty partition of the topics to its end. A broker
 * still loading the group's coordinator (GROUP_LOAD_IN_PROGRESS, right after it started) or any
 * other retriable error reads as "not yet": the caller polls again.
 */
export async function committedEverything(admin: Admin, groupId: string, topics: readonly string[]): Promise<boolean> {
  try {
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic)
      const [c] = await admin.fetchOffsets({ groupId, topics: [topic] })
      for (const e of ends) if (e.high !== '0' && c?.partitions.find((p) => p.partition === e.partition)?.offset !== e.high) return false
    }
    return true
  } catch (err) {
    if ((err as { retriable?: boolean }).retriable) return false
    throw err
  }
}

/**
 * Where a measured process imports the project from: the compiled modules in dist/, as the worker
 * ships (a bench builds them first: buildWorker), not the TypeScript sources through tsx, whose
 * module wrapping turns every use of a re-exported binding into a getter call on the hot path
 * (≈ 1.5 µs a record on the JSON fast path, measured). BENCH_FROM=sources: the sources.
 */
export const FROM = process.env.BENCH_FROM === 'sources' ? '..' : '../dist'

/**
 * Compiles the sources to dist/, which engine-run.ts runs as the worker ships (BENCH_FROM=sources:
 * the TypeScript sources through tsx instead, nothing to build).
 */
export function buildWorker(): void {
  if (FROM !== '../dist') return
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] })
}

/**
 * The V8 flags a worker runs with: those bin/streamcube.js's first line starts node with (their one
 * home; `npm start` and the image run it too). A measured worker process gets them before any of
 * BENCH_NODE_ARGS.
 */
export const WORKER_NODE_FLAGS: readonly string[] = workerNodeFlags(readFileSync(new URL('../bin/streamcube.js', import.meta.url), 'utf8'))

/** The flags of a `#!/usr/bin/env -S node …` line (none for `#!/usr/bin/env node`). */
export function workerNodeFlags(script: string): string[] {
  const first = script.split('\n', 1)[0] ?? ''
  const m = /^#!\/usr\/bin\/env (?:-S )?node(?<flags>(?: \S+)*)$/.exec(first)
  if (!m) throw new Error(`bin/streamcube.js: its first line is not a node shebang: ${first}`)
  return (m.groups?.flags ?? '').split(' ').filter(Boolean)
}

/**
 * The embedded engine bench/api.ts filled and kept (BENCH_DATA_DIR), with what its marker file says
 * of the fill, for the scripts that ask further questions of the same data (api-rollups, api-bitmaps).
 */
export async function openFilledApiEngine(): Promise<{ ch: ClickHouse; filled: { end: number; events: number; settings: string } }> {
  const dataDir = process.env.BENCH_DATA_DIR
  if (!dataDir) throw new Error('set BENCH_DATA_DIR to the directory bench/api.ts filled (BENCH_DATA_DIR=… npx tsx bench/api.ts)')
  const filled = JSON.parse(readFileSync(join(dataDir, 'bench-api.json'), 'utf8')) as { end: number; events: number; settings: string }
  return { ch: await connectClickHouse({ url: null, database: 'bench_api', dataDir }), filled }
}

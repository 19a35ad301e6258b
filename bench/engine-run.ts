/**
 * One measured run of bench/engine.ts, in a process of its own: the embedded engine keeps the
 * memory it took (its allocator does not give it back), so runs sharing a process would report
 * each other's RSS. Prints one JSON line: { rate, peakRss, baseRss, [sent, p50, p99 as bucket labels, the worker's and the load's cores busy] }.
 *
 * RUN=throughput: a worker over pre-filled topics until every partition is committed.
 * RUN=freshness: a worker, then a steady live load from bench/load.ts in another process for
 * WARMUP + SECONDS seconds; freshness and flush latency count the last SECONDS only (steady state, not the JIT's
 * and the new tables' first minutes).
 * RUN=generator: the generator as an in-process source (no Kafka).
 * Env: BROKERS, PREFIX, CLIENT, ENCODING, PIPELINES=all|cubes|name,name…, TOTALS=1 (cube totals), EVENTS, RATE, SECONDS; tuning
 * variables (FLUSH_MAX_RECORDS, BUFFER_MAX_RECORDS, …) pass through to the configuration.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { pino } from 'pino'
import { committedEverything, cubeTotals, FROM as from, threadCpu } from './run-common.js'
import type * as EngineModule from '../engine/index.js'
import type * as GeneratorModule from '../generator/index.js'
import type * as PipelinesModule from '../pipelines/index.js'
import type * as SchemasModule from '../schemas/index.js'
import type * as SinksModule from '../sinks/index.js'

// The worker as it ships (run-common.ts FROM: dist/, built by the bench that starts this process).
const { createWorker, EngineMetrics } = (await import(`${from}/engine/index.js`)) as typeof EngineModule
const { EventGenerator, runGeneratorSource } = (await import(`${from}/generator/index.js`)) as typeof GeneratorModule
const { PIPELINES, selectPipelines } = (await import(`${from}/pipelines/index.js`)) as typeof PipelinesModule
const { EventTypes, loadConfig } = (await import(`${from}/schemas/index.js`)) as typeof SchemasModule
const { connectClickHouse, migrate } = (await import(`${from}/sinks/index.js`)) as typeof SinksModule

const env = process.env
const RUN = env.RUN ?? 'throughput'
const EVENTS = Number(env.EVENTS ?? 400_000)
const PREFIX = env.PREFIX ?? 'bench.'
const BROKERS = env.BROKERS ?? '127.0.0.1:9092'
// BENCH_LOG=<file>: the worker's warnings and errors appended there (a run that replays or stalls says why); silent otherwise.
const log = env.BENCH_LOG ? pino({ level: 'warn' }, pino.destination({ dest: env.BENCH_LOG, append: true, sync: true })) : pino({ level: 'silent' })
const dataDir = mkdtempSync(join(tmpdir(), 'bench-chdb-'))
const pipelines = env.PIPELINES === 'cubes' ? PIPELINES.filter((p) => p.name !== 'facts') : !env.PIPELINES || env.PIPELINES === 'all' ? PIPELINES : selectPipelines(env.PIPELINES.split(','))
const url = env.CLICKHOUSE_URL || null
const database = `bench_${Date.now()}`

let peakRss = 0
/** At the RSS peak: the V8 heap and the Buffers / ArrayBuffers outside it; the rest is native (the engine, librdkafka). */
let atPeak = { heapTotal: 0, external: 0 }
const sampler = setInterval(() => {
  const m = process.memoryUsage()
  if (m.rss > peakRss) {
    peakRss = m.rss
    atPeak = { heapTotal: m.heapTotal, external: m.external }
  }
}, 50)
const kafka = new Kafka({ clientId: 'bench-run', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING })
const admin = kafka.admin()

/** The stream topics a run reads. */
const TOPICS = Object.values(EventTypes).map((t) => `${PREFIX}${t.topic}`)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function main(): Promise<Record<string, unknown>> {
  const ch = await connectClickHouse({ url, database, dataDir })
  await migrate(ch)
  // As `streamcube run` opens them: SINK_CONNECTIONS in all (default 2).
  const config = loadConfig({ ...env, KAFKA_TOPIC_PREFIX: PREFIX, STREAMCUBE_ENCODING: env.ENCODING ?? 'json', KAFKA_CLIENT: env.CLIENT ?? 'kafkajs', LOG_LEVEL: 'silent' })
  const extraConnections = await Promise.all(Array.from({ length: config.engine.sinkConnections - 1 }, () => connectClickHouse({ url, database, dataDir })))
  const baseRss = process.memoryUsage().rss // the engine open and migrated, nothing processed
  peakRss = baseRss
  try {
    if (RUN === 'generator') {
      const abort = new AbortController()
      const generator = new EventGenerator({ seed: 1, start: Date.now() - 2 * 86_400_000 })
      let processed = 0
      const counting = new Proxy(generator, {
        get(target, prop) {
          if (prop === 'next')
            return () => {
              if (++processed >= EVENTS) abort.abort()
              return target.next()
            }
          return Reflect.get(target, prop)
        },
      })
      const t0 = performance.now()
      // Release everything at once: "now" is far in the future of the simulation; stop after EVENTS.
      await runGeneratorSource({ generator: counting, pipelines, ch, extraConnections, log, signal: abort.signal, intervalMs: 1, now: () => Number.MAX_SAFE_INTEGER })
      return { rate: (processed * 1000) / (performance.now() - t0), peakRss, baseRss }
    }
    await admin.connect()
    const groupId = `run-${PREFIX}${database}`
    const metrics = new EngineMetrics()
    const worker = createWorker({ config, brokers: BROKERS.split(','), pipelines, groupId, ch, extraConnections, log, metrics })
    if (RUN === 'throughput') {
      const cpuFrom = process.cpuUsage()
      const t0 = performance.now()
      const running = worker.run()
      while (!(await committedEverything(admin, groupId, TOPICS))) await sleep(100)
      const seconds = (performance.now() - t0) / 1000
      const cpu = process.cpuUsage(cpuFrom)
      const rate = EVENTS / seconds
      await worker.stop()
      await running
      const all = await metrics.registry.getMetricsAsJSON()
      const counts = (name: string) => (all.find((m) => m.name === name)?.values ?? []).filter((v) => (v as { metricName?: string }).metricName === `${name}_count`)
      const flushes = counts('streamcube_flush_seconds')[0]?.value ?? 0
      const inserts = Object.fromEntries(counts('streamcube_insert_seconds').map((v) => [String(v.labels.table), v.value]))
      return { rate, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRss, baseRss, peakHeap: atPeak.heapTotal, peakExternal: atPeak.external, flushes, inserts, threads: threadCpu(), ...(env.TOTALS === '1' ? await cubeTotals(ch) : {}) }
    }
    // Freshness: join the group before the load starts (a join is not what freshness measures).
    const running = worker.run()
    const joined = Date.now()
    while (worker.watermarks().length < Object.keys(EventTypes).length * Number(env.PARTITIONS ?? 6) && Date.now() - joined < 30_000) await sleep(100)
    const seconds = Number(env.SECONDS ?? 20)
    const warmup = Number(env.WARMUP ?? 30)
    const load = new Promise<{ sent: number; cpu: number }>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', new URL('./load.ts', import.meta.url).pathname], { env: { ...env, SECONDS: String(warmup + seconds) } }, (err, stdout) => {
        if (err) return reject(err)
        const [sent, cpu] = (stdout.trim().split('\n').at(-1) ?? '').split(' ').map(Number)
        resolve({ sent: sent ?? 0, cpu: cpu ?? 0 })
      }),
    )
    await sleep(warmup * 1000)
    metrics.freshness.reset()
    metrics.flushSeconds.reset()
    metrics.insertSeconds.reset()
    const cpuFrom = process.cpuUsage()
    const measuredFrom = performance.now()
    const { sent, cpu: loadCpu } = await load
    const workerCpu = process.cpuUsage(cpuFrom)
    const workerCores = (workerCpu.user + workerCpu.system) / 1e3 / (performance.now() - measuredFrom)
    while (!(await committedEverything(admin, groupId, TOPICS))) await sleep(100)
    await worker.stop()
    await running
    const all = await metrics.registry.getMetricsAsJSON()
    /** A quantile as its bucket bound ("≤ 2 s"), summed over the histogram's label sets; past the last bound, "> 10 s". */
    const quantile = (name: string, q: number): string => {
      const byLe = new Map<number, number>()
      for (const v of all.find((m) => m.name === name)?.values ?? []) {
        if ((v as { metricName?: string }).metricName !== `${name}_bucket`) continue
        const le = Number(v.labels.le)
        byLe.set(le, (byLe.get(le) ?? 0) + v.value)
      }
      const buckets = [...byLe].sort((a, b) => a[0] - b[0])
      const total = buckets.at(-1)?.[1] ?? 0
      const le = buckets.find(([, n]) => n >= q * total)?.[0]
      if (le === undefined || total === 0) return 'n/a'
      return Number.isFinite(le) ? `≤ ${le} s` : `> ${buckets.filter(([b]) => Number.isFinite(b)).at(-1)?.[0]} s`
    }
    const f = 'streamcube_freshness_seconds'
    const fl = 'streamcube_flush_seconds'
    return { rate: sent / (warmup + seconds), sent, p50: quantile(f, 0.5), p99: quantile(f, 0.99), flushP50: quantile(fl, 0.5), flushP99: quantile(fl, 0.99), insertP50: quantile('streamcube_insert_seconds', 0.5), insertP99: quantile('streamcube_insert_seconds', 0.99), peakRss, baseRss, workerCores, loadCores: loadCpu / (warmup + seconds), threads: threadCpu() }
  } finally {
    await admin.disconnect()
    for (const c of extraConnections) await c.close()
    await ch.close()
  }
}

try {
  process.stdout.write(`${JSON.stringify(await main())}\n`)
} catch (err) {
  console.error('bench run failed:', err)
  process.exitCode = 1
} finally {
  clearInterval(sampler)
  rmSync(dataDir, { recursive: true, force: true })
}

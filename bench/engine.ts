/**
 * Question: how many events per second does one worker process turn from a pre-filled Kafka topic
 * into committed cubes, and what share of the client's raw consume rate is that? How fresh are
 * the cubes under a steady live load, and how much memory does the worker take?
 *
 * Baselines in the same run: kafkajs consume-and-discard (same topics, same client settings); the
 * generator as an in-process source (no Kafka) for the engine + ClickHouse cost alone.
 * Run: npx tsx bench/engine.ts   (BENCH_EVENTS, default 200000; KAFKA_BROKERS or a local broker)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs'
import { pino } from 'pino'
import { createWorker, EngineMetrics, EventGenerator, PIPELINES, runGeneratorSource, type PipelineDefinition } from '../pipelines/index.js'
import { createConfluentEncoder, EventTypes, jsonEncoder, loadConfig, type Encoder, type TypedEvent } from '../schemas/index.js'
import { connectClickHouse, migrate } from '../sinks/index.js'
import { startLocalBroker } from '../scripts/kafka/broker.js'
import { fmt, machine, writeSection } from './report.js'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000)
const PARTITIONS = 6
const START = Date.now() - 2 * 86_400_000
const log = pino({ level: 'silent' })
const dataDir = mkdtempSync(join(tmpdir(), 'bench-chdb-'))

let brokers = process.env.KAFKA_BROKERS
let stopBroker = async () => {}
let brokerNote = `KAFKA_BROKERS=${brokers}`
if (!brokers) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-kafka-'))
  const b = await startLocalBroker({ dataDir: dir, partitions: PARTITIONS })
  brokers = b.brokers
  brokerNote = `local Kafka ${b.version} on the same machine (-Xmx512m)`
  stopBroker = async () => {
    await b.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
const kafka = new Kafka({ clientId: 'bench', brokers: [brokers], logLevel: logLevel.NOTHING })
const admin = kafka.admin()
await admin.connect()

let peakRss = 0
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50)

async function prefill(prefix: string, encoder: Encoder, events: number): Promise<void> {
  await admin.createTopics({ waitForLeaders: true, topics: Object.values(EventTypes).map((t) => ({ topic: `${prefix}${t.topic}`, numPartitions: PARTITIONS })) })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  const gen = new EventGenerator({ seed: 1, start: START })
  for (let sent = 0; sent < events; sent += 5000) {
    const byTopic = new Map<string, { key: string; value: Buffer }[]>()
    for (const r of gen.take(Math.min(5000, events - sent))) {
      const topic = `${prefix}${EventTypes[r.type].topic}`
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key: r.key, value: encoder.encode(r.event) }])
    }
    await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) })
  }
  await producer.disconnect()
}

async function rawConsume(prefix: string, events: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `raw-${prefix}`, maxBytesPerPartition: 4 * 1024 * 1024 })
  await consumer.connect()
  await consumer.subscribe({ topics: Object.values(EventTypes).map((t) => `${prefix}${t.topic}`), fromBeginning: true })
  const t0 = performance.now()
  let n = 0
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        for (const m of batch.messages) resolveOffset(m.offset)
        n += batch.messages.length
        if (n >= events) resolve()
      },
    })
  })
  const rate = (n * 1000) / (performance.now() - t0)
  await consumer.disconnect()
  return rate
}

async function committedEverything(groupId: string, prefix: string): Promise<boolean> {
  for (const t of Object.values(EventTypes)) {
    const topic = `${prefix}${t.topic}`
    const ends = await admin.fetchTopicOffsets(topic)
    const [c] = await admin.fetchOffsets({ groupId, topics: [topic] })
    for (const e of ends) if (e.high !== '0' && c?.partitions.find((p) => p.partition === e.partition)?.offset !== e.high) return false
  }
  return true
}

async function engine(prefix: string, encoding: 'json' | 'confluent-avro', pipelines: readonly PipelineDefinition[], database: string, overlapFlushes = true): Promise<number> {
  const config = loadConfig({ KAFKA_TOPIC_PREFIX: prefix, STREAMCUBE_ENCODING: encoding, FLUSH_INTERVAL_MS: '1000', FLUSH_MAX_RECORDS: '50000' })
  const ch = await connectClickHouse({ url: process.env.CLICKHOUSE_URL ?? null, database, dataDir })
  await migrate(ch)
  const groupId = `engine-${prefix}${database}`
  const extraConnections = [await connectClickHouse({ url: process.env.CLICKHOUSE_URL ?? null, database, dataDir })]
  const worker = createWorker({ config, brokers: [brokers as string], pipelines, groupId, ch, extraConnections, log, overlapFlushes })
  const t0 = performance.now()
  const running = worker.run()
  while (!(await committedEverything(groupId, prefix))) await new Promise((r) => setTimeout(r, 100))
  const rate = (EVENTS * 1000) / (performance.now() - t0)
  await worker.stop()
  await running
  for (const c of extraConnections) await c.close()
  await ch.close()
  return rate
}

async function generatorSource(): Promise<number> {
  const ch = await connectClickHouse({ url: process.env.CLICKHOUSE_URL ?? null, database: 'bench_generator', dataDir })
  await migrate(ch)
  const abort = new AbortController()
  const generator = new EventGenerator({ seed: 1, start: START })
  // Release everything at once: "now" is far in the future of the simulation; stop after EVENTS.
  let processed = 0
  const t0 = performance.now()
  const counting = new Proxy(generator, {
    get(target, prop) {
      if (prop === 'next') return () => {
        if (++processed >= EVENTS) abort.abort()
        return target.next()
      }
      return Reflect.get(target, prop)
    },
  })
  const extraConnections = [await connectClickHouse({ url: process.env.CLICKHOUSE_URL ?? null, database: 'bench_generator', dataDir })]
  await runGeneratorSource({ generator: counting, pipelines: PIPELINES, ch, extraConnections, log, signal: abort.signal, intervalMs: 1, now: () => Number.MAX_SAFE_INTEGER })
  const rate = (processed * 1000) / (performance.now() - t0)
  for (const c of extraConnections) await c.close()
  await ch.close()
  return rate
}

async function freshness(RATE: number, overlapFlushes = true): Promise<{ p50: number; p99: number; rate: number; overlapFlushes: boolean }> {
  const prefix = `fresh-${Date.now()}.`
  await admin.createTopics({ waitForLeaders: true, topics: Object.values(EventTypes).map((t) => ({ topic: `${prefix}${t.topic}`, numPartitions: PARTITIONS })) })
  const config = loadConfig({ KAFKA_TOPIC_PREFIX: prefix, FLUSH_INTERVAL_MS: '500', FLUSH_MAX_RECORDS: '50000' })
  const ch = await connectClickHouse({ url: process.env.CLICKHOUSE_URL ?? null, database: 'bench_fresh', dataDir })
  await migrate(ch)
  const metrics = new EngineMetrics()
  const extraConnections = [await connectClickHouse({ url: process.env.CLICKHOUSE_URL ?? null, database: 'bench_fresh', dataDir })]
  const worker = createWorker({ config, brokers: [brokers as string], pipelines: PIPELINES, groupId: `fresh-${prefix}`, ch, extraConnections, log, metrics, overlapFlushes })
  const running = worker.run()
  await new Promise((r) => setTimeout(r, 5000)) // join the group before the load starts
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  const gen = new EventGenerator({ seed: 3, start: START })
  const SECONDS = 20
  const t0 = Date.now()
  let sent = 0
  while (Date.now() - t0 < SECONDS * 1000) {
    // At most 3000 per send: a producer that fell behind must not exceed the broker's message size.
    const due = Math.min(3000, Math.floor(((Date.now() - t0) / 1000) * RATE) - sent)
    if (due > 0) {
      const byTopic = new Map<string, { key: string; value: Buffer }[]>()
      const now = Date.now()
      for (const r of gen.take(due)) {
        // Live load: event time = now, so freshness measures event time → committed.
        const event = { ...r.event, event: { ...r.event.event, eventTime: now } } as TypedEvent
        const topic = `${prefix}${EventTypes[r.type].topic}`
        byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key: r.key, value: jsonEncoder.encode(event) }])
      }
      await producer.sendBatch({ acks: 1, compression: CompressionTypes.None, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) })
      sent += due
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  await producer.disconnect()
  while (!(await committedEverything(`fresh-${prefix}`, prefix))) await new Promise((r) => setTimeout(r, 100))
  await worker.stop()
  await running
  for (const c of extraConnections) await c.close()
  await ch.close()
  const h = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'streamcube_freshness_seconds')
  const buckets = (h?.values ?? []).filter((v) => (v as { metricName?: string }).metricName === 'streamcube_freshness_seconds_bucket').map((v) => ({ le: Number(v.labels.le), n: v.value }))
  const total = buckets.find((b) => !Number.isFinite(b.le))?.n ?? 0
  const quantile = (q: number) => buckets.find((b) => b.n >= q * total)?.le ?? Number.NaN
  return { p50: quantile(0.5), p99: quantile(0.99), rate: (sent * 1000) / (SECONDS * 1000), overlapFlushes }
}

const rows: string[] = []
try {
  for (const [encoding, encoder] of [['json', jsonEncoder], ['confluent-avro', createConfluentEncoder()]] as const) {
    const prefix = `bench-${encoding}-${Date.now()}.`
    await prefill(prefix, encoder, EVENTS)
    const raw = await rawConsume(prefix, EVENTS)
    peakRss = 0
    const all = await engine(prefix, encoding, PIPELINES, `bench_${encoding.replace('-', '_')}_all`)
    const rssAll = peakRss
    peakRss = 0
    const noFacts = await engine(prefix, encoding, PIPELINES.filter((p) => p.name !== 'facts'), `bench_${encoding.replace('-', '_')}_cubes`)
    const rssNoFacts = peakRss
    rows.push(`| kafkajs + ${encoding} | ${fmt(all)} | ${fmt(noFacts)} | ${fmt(raw)} | ${(all / raw).toFixed(2)} | ${Math.round(rssAll / 1e6)} / ${Math.round(rssNoFacts / 1e6)} MB |`)
    if (encoding === 'json') {
      // Baseline in the same run: the same worker with each flush completed before the partition reads on.
      peakRss = 0
      const serialAll = await engine(prefix, encoding, PIPELINES, 'bench_json_all_serial', false)
      const rssSerialAll = peakRss
      peakRss = 0
      const serialNoFacts = await engine(prefix, encoding, PIPELINES.filter((p) => p.name !== 'facts'), 'bench_json_cubes_serial', false)
      rows.push(`| kafkajs + json, flushes not overlapped (baseline) | ${fmt(serialAll)} | ${fmt(serialNoFacts)} | ${fmt(raw)} | ${(serialAll / raw).toFixed(2)} | ${Math.round(rssSerialAll / 1e6)} / ${Math.round(peakRss / 1e6)} MB |`)
    }
  }
  peakRss = 0
  const gen = await generatorSource()
  const fresh = [await freshness(5_000), await freshness(5_000, false), await freshness(20_000), await freshness(20_000, false)]
  const body = `### Engine: pre-filled topics → cubes committed, one worker process

Question: events/s from a pre-filled topic to committed cubes, against the same client's raw consume rate; freshness under a live load; memory.
Command: \`npx tsx bench/engine.ts\` (BENCH_EVENTS=${EVENTS}, ${PARTITIONS} partitions, all 7 pipelines, 2 sink connections) — ${machine()}; broker: ${brokerNote}; ClickHouse: ${process.env.CLICKHOUSE_URL ? 'server' : 'embedded chDB in the worker process'}.
Engine time runs from worker start (group join included) to every partition committed.

| source | events/s, all pipelines (with raw facts) | events/s, cubes only (no raw facts) | raw consume-and-discard events/s (baseline) | engine / raw | peak RSS (all / cubes only) |
|---|---:|---:|---:|---:|---:|
${rows.join('\n')}
| generator in-process (no Kafka; engine + ClickHouse only) | ${fmt(gen)} | | | | |

Freshness (kafkajs + JSON, event time = send time, flush every 500 ms; histogram bucket bounds of streamcube_freshness_seconds):
${fresh.map((f) => `- ${f.overlapFlushes ? 'overlapped flushes' : 'flushes not overlapped (baseline)'}, at a steady ${fmt(f.rate)} events/s: p50 ≤ ${f.p50} s, p99 ≤ ${f.p99} s`).join('\n')}`
  writeSection('engine', body)
  process.stdout.write(`${body}\n`)
} catch (err) {
  // Reported before the clean-up below, which can fail too (the engine may still hold its files).
  console.error('bench failed:', err)
  process.exitCode = 1
} finally {
  clearInterval(sampler)
  await admin.disconnect()
  await stopBroker()
  try {
    rmSync(dataDir, { recursive: true, force: true })
  } catch (err) {
    console.error(`could not remove ${dataDir}: ${(err as Error).message}`)
  }
}

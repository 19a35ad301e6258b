/**
 * Question: how many events per second does one worker process turn from a pre-filled Kafka topic
 * into committed cubes, and what share of the client's raw consume rate is that? How fresh are
 * the cubes under a steady live load, and how much memory does the worker take?
 *
 * Baselines in the same run: each client's consume-and-discard of the same topics (kafkajs; and
 * node-rdkafka in assign mode, where it built); the generator as an in-process source (no Kafka)
 * for the engine + ClickHouse cost alone. The freshness load runs in its own process (bench/load.ts).
 * Run: npx tsx bench/engine.ts   (BENCH_EVENTS, default 400000; KAFKA_BROKERS or a local broker)
 * Partial runs (they do not rewrite bench/README.md): BENCH_CLIENTS=kafkajs,rdkafka
 * BENCH_ENCODINGS=json,confluent-avro BENCH_FRESHNESS=0; engine settings such as
 * BUFFER_MAX_RECORDS or FLUSH_MAX_RECORDS in the environment reach every measured run.
 */
import { execFile } from 'node:child_process'
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs'
import { createRdkafkaFetcher, loadRdkafka } from '../engine/index.js'
import { EventGenerator } from '../generator/index.js'
import { createConfluentEncoder, EventTypes, jsonEncoder, type Encoder } from '../schemas/index.js'
import { fmt, machine, writeSection } from './report.js'
import { benchBroker, buildWorker, WORKER_NODE_FLAGS } from './run-common.js'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 400_000)
type Client = 'kafkajs' | 'rdkafka'
const CLIENTS: Client[] = (() => {
  const wanted = (process.env.BENCH_CLIENTS ?? 'kafkajs,rdkafka').split(',') as Client[]
  try {
    loadRdkafka()
    return wanted
  } catch (err) {
    console.warn(`node-rdkafka rows left out: ${(err as Error).message}`)
    return wanted.filter((c) => c !== 'rdkafka')
  }
})()
const ENCODINGS = (process.env.BENCH_ENCODINGS ?? 'json,confluent-avro').split(',')
const FRESHNESS = process.env.BENCH_FRESHNESS !== '0'
const PARTIAL = process.env.BENCH_CLIENTS !== undefined || process.env.BENCH_ENCODINGS !== undefined || !FRESHNESS
const PARTITIONS = 6
const START = Date.now() - 2 * 86_400_000

buildWorker()
const broker = await benchBroker(PARTITIONS)
const brokers = broker.brokers
const brokerNote = broker.note
const stopBroker = () => broker.stop()
const kafka = new Kafka({ clientId: 'bench', brokers: [brokers], logLevel: logLevel.NOTHING })
const admin = kafka.admin()
await admin.connect()


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

async function rawConsume(client: Client, prefix: string, events: number): Promise<number> {
  if (client === 'rdkafka') {
    const fetcher = createRdkafkaFetcher({ brokers: [brokers], clientId: 'bench-raw', groupId: `raw-${prefix}rdkafka` })
    await fetcher.connect()
    const t0 = performance.now()
    fetcher.assign(Object.values(EventTypes).flatMap((t) => Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: `${prefix}${t.topic}`, partition, offset: null }))))
    let n = 0
    while (n < events) n += (await fetcher.fetch(10_000)).length
    const rate = (n * 1000) / (performance.now() - t0)
    await fetcher.disconnect()
    return rate
  }
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

/** The V8 flags a worker runs with (bin/streamcube.js's first line, which npm start and the image run). */
const WORKER_FLAGS = WORKER_NODE_FLAGS
/** The flags it ran with before: a baseline row in the same run. */
const OLD_FLAGS: readonly string[] = []

/** One measured run in a process of its own (bench/engine-run.ts): its own RSS, its own engine. */
function measure(env: Record<string, string>, flags: readonly string[] = WORKER_FLAGS): Promise<{ rate: number; peakRss: number; baseRss: number; sent?: number; peakHeap?: number; peakExternal?: number; p50?: string; p99?: string; flushP50?: string; flushP99?: string; insertP50?: string; insertP99?: string; workerCores?: number; loadCores?: number }> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [...flags, '--import', 'tsx', new URL('./engine-run.ts', import.meta.url).pathname],
      { env: { ...process.env, BROKERS: brokers, EVENTS: String(EVENTS), PARTITIONS: String(PARTITIONS), ...env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${err.message}\n${stderr}`))
        const line = stdout.trim().split('\n').at(-1) as string
        process.stdout.write(`  ${env.RUN} ${env.CLIENT ?? ''} ${env.ENCODING ?? ''} ${env.PIPELINES ?? ''}: ${line}\n`)
        resolve(JSON.parse(line))
      },
    ),
  )
}

const mb = (bytes: number) => Math.round(bytes / 1e6)

const rows: string[] = []
try {
  for (const [encoding, encoder] of [['json', jsonEncoder], ['confluent-avro', createConfluentEncoder()]] as const) {
    if (!ENCODINGS.includes(encoding)) continue
    const prefix = `bench-${encoding}-${Date.now()}.`
    await prefill(prefix, encoder, EVENTS)
    for (const client of CLIENTS) {
      const raw = await rawConsume(client, prefix, EVENTS)
      const all = await measure({ RUN: 'throughput', PREFIX: prefix, ENCODING: encoding, CLIENT: client, PIPELINES: 'all' })
      const cubes = await measure({ RUN: 'throughput', PREFIX: prefix, ENCODING: encoding, CLIENT: client, PIPELINES: 'cubes' })
      rows.push(`| ${client} + ${encoding} | ${fmt(all.rate)} | ${fmt(cubes.rate)} | ${fmt(raw)} | ${(all.rate / raw).toFixed(2)} | ${mb(all.peakRss)} / ${mb(cubes.peakRss)} MB (engine open: ${mb(all.baseRss)} MB) |`)
      process.stdout.write(`${rows.at(-1)}\n`)
      if (client === 'kafkajs' && encoding === 'json') {
        // Baselines in the same run: every partition flushes on its own (no group commits); the
        // heap Node gives by default (16 MB semi-spaces, V8's growing factor), which the worker ran with before.
        const baseline = async (label: string, env: Record<string, string>, flags?: readonly string[]) => {
          const run = { RUN: 'throughput', PREFIX: prefix, ENCODING: encoding, CLIENT: client, ...env }
          const b = { all: await measure({ ...run, PIPELINES: 'all' }, flags), cubes: await measure({ ...run, PIPELINES: 'cubes' }, flags) }
          rows.push(`| kafkajs + json, ${label} | ${fmt(b.all.rate)} | ${fmt(b.cubes.rate)} | ${fmt(raw)} | ${(b.all.rate / raw).toFixed(2)} | ${mb(b.all.peakRss)} / ${mb(b.cubes.peakRss)} MB |`)
          process.stdout.write(`${rows.at(-1)}\n`)
        }
        await baseline('FLUSH_GROUP_MAX=1 (baseline: every partition flushes alone)', { FLUSH_GROUP_MAX: '1' })
        await baseline("Node's default heap (baseline: what a worker ran with before)", {}, OLD_FLAGS)
      }
    }
  }
  const gen = await measure({ RUN: 'generator' })
  const fresh = []
  const interval = process.env.FLUSH_INTERVAL_MS ?? '1000'
  // The rates below, at and above the engine's capacity on a slow machine; at each, kafkajs also
  // with every partition flushing on its own (FLUSH_GROUP_MAX=1): the baseline of group commits.
  // At 20k/s kafkajs also with Node's default heap, which a worker ran with before (baseline).
  type FreshRun = { client: Client; rate: number; groupMax: string | null; oldFlags?: boolean }
  const freshRuns: FreshRun[] = FRESHNESS
    ? [5_000, 10_000, 20_000].flatMap((rate): FreshRun[] => [
        ...CLIENTS.map((client) => ({ client, rate, groupMax: null })),
        ...(CLIENTS.includes('kafkajs') ? [{ client: 'kafkajs' as Client, rate, groupMax: '1' }] : []),
        ...(CLIENTS.includes('kafkajs') && rate === 20_000 ? [{ client: 'kafkajs' as Client, rate, groupMax: null, oldFlags: true }] : []),
      ])
    : []
  for (const { client, rate, groupMax, oldFlags } of freshRuns) {
    const prefix = `fresh-${client}-${rate}-${Date.now()}.`
    await admin.createTopics({ waitForLeaders: true, topics: Object.values(EventTypes).map((t) => ({ topic: `${prefix}${t.topic}`, numPartitions: PARTITIONS })) })
    const r = await measure({ RUN: 'freshness', PREFIX: prefix, CLIENT: client, RATE: String(rate), SECONDS: '20', ...(groupMax ? { FLUSH_GROUP_MAX: groupMax } : {}) }, oldFlags ? OLD_FLAGS : WORKER_FLAGS)
    const label = groupMax ? `${client}, FLUSH_GROUP_MAX=${groupMax} (baseline: every partition flushes alone)` : oldFlags ? `${client}, Node's default heap (baseline: what a worker ran with before)` : client
    fresh.push({ client: label, target: rate, ...r })
    process.stdout.write(`${JSON.stringify(fresh.at(-1))}\n`)
  }
  const body = `### Engine: pre-filled topics → cubes committed, one worker process

Question: events/s from a pre-filled topic to committed cubes, against the same client's raw consume rate; freshness under a live load; memory.
Command: \`npx tsx bench/engine.ts\` (BENCH_EVENTS=${EVENTS}, ${PARTITIONS} partitions per topic, all 7 pipelines, default flush policy, 2 sink connections) — ${machine()}; broker: ${brokerNote}; ClickHouse: ${process.env.CLICKHOUSE_URL ? 'server' : 'embedded chDB in the worker process'}.
Every run uses the worker's V8 settings (${WORKER_FLAGS.length ? `\`${WORKER_FLAGS.join(' ')}\`` : "V8's own"}, as bin/streamcube.js, \`npm start\` and the image run a worker) unless the row says otherwise.
Engine time runs from worker start (group join included) to every partition committed. Each engine run is a process of its own (bench/engine-run.ts), so its peak RSS is its own; "engine open" is that process's RSS with the embedded engine opened and migrated, before any record.

| source | events/s, all pipelines (with raw facts) | events/s, cubes only (no raw facts) | raw consume-and-discard events/s (baseline) | engine / raw | peak RSS (all / cubes only) |
|---|---:|---:|---:|---:|---:|
${rows.join('\n')}
| generator in-process (no Kafka; engine + ClickHouse only) | ${fmt(gen.rate)} | | | | ${mb(gen.peakRss)} MB |

Freshness: JSON, a steady load from a separate process (bench/load.ts, event time = send time; produced with node-rdkafka where it built, else kafkajs), 30 s of warm-up then 20 s measured, flush every ${interval} ms, group commits of up to ${process.env.FLUSH_GROUP_MAX ?? 32} partitions unless the row says otherwise; p50/p99 are bucket bounds of streamcube_freshness_seconds, streamcube_flush_seconds and streamcube_insert_seconds (one table insert on its sink session, all tables); peak RSS of the worker's process (each run in a process of its own).

| client | target events/s | sent events/s | freshness p50 | freshness p99 | flush latency p50 / p99 | one table insert p50 / p99 | worker / load cores busy | peak RSS |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${fresh.map((f) => `| ${f.client} | ${fmt(f.target)} | ${fmt(f.rate)} | ${f.p50} | ${f.p99} | ${f.flushP50} / ${f.flushP99} | ${f.insertP50} / ${f.insertP99} | ${(f.workerCores ?? 0).toFixed(2)} / ${(f.loadCores ?? 0).toFixed(2)} | ${mb(f.peakRss)} MB |`).join('\n')}`
  if (!PARTIAL) writeSection('engine', body)
  process.stdout.write(`${body}\n`)
} catch (err) {
  console.error('bench failed:', err)
  process.exitCode = 1
} finally {
  await admin.disconnect()
  await stopBroker()
}

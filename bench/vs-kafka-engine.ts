/**
 * Question: is streamcube faster than what a ClickHouse user builds instead — Kafka table engines
 * with materialized views — on the same cubes from the same pre-filled topics, and is it still
 * exact where the anchor is not?
 *
 * The anchor (bench/kafka-engine-run.ts): ClickHouse's Kafka engine (JSONEachRow,
 * kafka_flush_interval_ms = 500, 1 and 2 consumers per topic) in the same embedded engine, its
 * views mapping the JSON onto the same stream tables, so the same views of sql/migrations build
 * the same cubes (every cube streamcube has: each is a view over the stream tables). It has no
 * deduplication by event id and no event-time lateness: re-sent records and late events count.
 * streamcube (bench/engine-run.ts): one worker process, kafkajs, JSON, the same pipelines.
 * Each run is a process of its own, one after another, on the same topics (its own consumer
 * group); the clock runs until the group has committed every partition to its end. Per side:
 * records/s, CPU seconds per 100k records (all threads of the process), peak RSS, and GMV,
 * raw facts and activity events against the generator's truth.
 *
 * The topics: BENCH_EVENTS (default 382000) generated events, 2 % of them re-sent, 40 paid orders
 * a day older than the stream sent at its end (too late for the allowed lateness), 30 malformed
 * records; 6 partitions per topic, local broker (or KAFKA_BROKERS).
 * Run: npx tsx bench/vs-kafka-engine.ts   (BENCH_SIDES=anchor1,anchor2,streamcube,streamcube-v8-heap,rdkafka to choose;
 * streamcube-v8-heap: the worker with V8's own old-generation growth instead of bin/streamcube.js's
 * --heap-growing-percent, the baseline of that setting in the same run;
 * BENCH_FROM=sources: the worker from the TypeScript sources through tsx instead of the compiled dist/ that ships (built first); BENCH_RUNS, default 5; BENCH_NODE_ARGS: extra node flags for each side's process, e.g. --cpu-prof; BENCH_CONFIGS=core,all; BENCH_EVENTS=1200000 for the large backlog's peak RSS;
 * BENCH_ENCODING=confluent-avro: the topics in Confluent Avro instead of JSON, the anchor reading them as AvroConfluent from a
 * schema registry the bench serves (bench/registry-stub.ts), streamcube with its Confluent codec;
 * BENCH_PARTS=<file>: each run appends its tables' active parts to the file when its clock stops — parts, rows, inserts
 * (the highest block number), the deepest merge level and rows × level (the rows merges have rewritten, at most): where
 * each side's merge work comes from;
 * BENCH_LOG=<file>: streamcube's worker appends its warnings and errors to the file (bench/engine-run.ts), so a run that
 * replays a range or stalls says why)
 */
import { execFile } from 'node:child_process'
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs'
import { EventGenerator, type GeneratedRecord } from '../generator/index.js'
import { createConfluentEncoder, EventTypes, jsonEncoder, type Encoder, type OrderEvent } from '../schemas/index.js'
import { fmt, machine, writeSection } from './report.js'
import { benchBroker, buildWorker, WORKER_NODE_FLAGS } from './run-common.js'
import { serveLocalSchemas } from './registry-stub.js'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 382_000)
const DEFAULT_SIDES = 'anchor1,anchor2,streamcube,streamcube-v8-heap'
const SIDES = (process.env.BENCH_SIDES ?? DEFAULT_SIDES).split(',')
/** Runs of each side, in turn (A B C A B C …): the median is reported, with the range. */
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const PARTITIONS = 6
/** The topics' wire format: JSON (the issue's figures), or Confluent Avro (a lever measured beside it). */
const ENCODING = process.env.BENCH_ENCODING ?? 'json'
if (ENCODING !== 'json' && ENCODING !== 'confluent-avro') throw new Error(`BENCH_ENCODING=${ENCODING}: json or confluent-avro`)
const encoder: Encoder = ENCODING === 'json' ? jsonEncoder : createConfluentEncoder()
/** Avro: a registry serving streamcube's schemas under their local ids, for the anchor's AvroConfluent format. */
const registry = ENCODING === 'confluent-avro' ? await serveLocalSchemas() : null
// The generator's city makes about 7,000 events an hour: start far enough back that the last event
// is in the past (an event in the future is a dead letter for streamcube, while the anchor takes it).
const START = Date.now() - Math.ceil(EVENTS / 6_500 + 2) * 3_600_000
const CONFIGS = [
  { name: 'facts + gmv + activity', pipelines: 'facts,gmv,activity' },
  { name: 'all pipelines', pipelines: 'facts,gmv,activity,heatmap,products,lifecycle,inventory' },
].filter((c) => !process.env.BENCH_CONFIGS || process.env.BENCH_CONFIGS.split(',').includes(c.pipelines.includes('heatmap') ? 'all' : 'core'))

buildWorker()
const broker = await benchBroker(PARTITIONS)
const brokers = broker.brokers
const brokerNote = broker.note
const stopBroker = () => broker.stop()
const kafka = new Kafka({ clientId: 'bench', brokers: [brokers], logLevel: logLevel.NOTHING })

interface Truth {
  records: number
  facts: number
  gmv: number
  activityEvents: number
  duplicates: number
  late: number
  malformed: number
}

const lineValue = (o: OrderEvent) => o.lines.reduce((a, l) => a + l.qty * l.unitPriceCents, 0)

/** Fills the topics with generated events and planted faults; returns what an exact engine must count. */
async function prefill(prefix: string): Promise<Truth> {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ waitForLeaders: true, topics: Object.values(EventTypes).map((t) => ({ topic: `${prefix}${t.topic}`, numPartitions: PARTITIONS })) })
  await admin.disconnect()
  const generated: GeneratedRecord[] = new EventGenerator({ seed: 1, start: START }).take(EVENTS)
  const truth: Truth = { records: 0, facts: generated.length, gmv: 0, activityEvents: 0, duplicates: 0, late: 0, malformed: 0 }
  const out: { topic: string; key: string; value: Buffer }[] = []
  const lateOrders: OrderEvent[] = []
  generated.forEach((g, i) => {
    const topic = `${prefix}${EventTypes[g.type].topic}`
    const value = encoder.encode(g.event)
    out.push({ topic, key: g.key, value })
    if (g.event.type === 'order') {
      const o = g.event.event
      if (o.status === 'paid') {
        truth.gmv += lineValue(o)
        if (lateOrders.length < 40 && i % 97 === 0) lateOrders.push({ ...o, eventId: `${o.eventId}-late`, orderId: `${o.orderId}-late`, eventTime: START - 86_400_000 })
      }
      if (o.status === 'created') truth.activityEvents++
    } else if (g.event.type === 'behaviour') truth.activityEvents++
    if (i % 50 === 49) {
      out.push({ topic, key: g.key, value })
      truth.duplicates++
    }
    if (i % Math.floor(generated.length / 30) === 7 && truth.malformed < 30) {
      // Half cut short, half not a record of the format at all (for Avro: a Confluent header with a body that is not the schema's).
      const junk = ENCODING === 'json' ? Buffer.from([0xff, 0xfe, 0x00, 0x41]) : Buffer.concat([value.subarray(0, 5), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])])
      out.push({ topic, key: g.key, value: truth.malformed % 2 === 0 ? value.subarray(0, value.length >> 1) : junk })
      truth.malformed++
    }
  })
  for (const o of lateOrders) out.push({ topic: `${prefix}${EventTypes.order.topic}`, key: o.orderId, value: encoder.encode({ type: 'order', event: o }) })
  truth.late = lateOrders.length
  truth.records = out.length
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, maxInFlightRequests: 1 })
  await producer.connect()
  for (let i = 0; i < out.length; i += 5000) {
    const byTopic = new Map<string, { key: string; value: Buffer }[]>()
    for (const r of out.slice(i, i + 5000)) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), { key: r.key, value: r.value }])
    await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) })
  }
  await producer.disconnect()
  return truth
}

interface RunResult {
  threads: Record<string, number>
  seconds: number
  cpuSeconds: number
  peakRss: number
  /** streamcube's side: RSS with the engine open, and the JS heap and external memory at the peak. */
  baseRss?: number
  peakHeap?: number
  peakExternal?: number
  /** streamcube's side: flushes, and table inserts by table. */
  flushes?: number
  inserts?: Record<string, number>
  gmv: number
  facts: number
  activityEvents: number
}

/** One side's run in a process of its own; `flags`: node flags before BENCH_NODE_ARGS (streamcube's side: the worker's own). */
function child(script: string, env: Record<string, string>, flags: readonly string[] = []): Promise<RunResult> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [...flags, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', new URL(script, import.meta.url).pathname], { env: { ...process.env, ...env }, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${script}: ${err.message}\n${stderr}`))
      resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as RunResult)
    }),
  )
}

/** The worker's flags without its old-generation growth: V8's own (the `streamcube-v8-heap` side, a baseline). */
const V8_HEAP_FLAGS = WORKER_NODE_FLAGS.filter((f) => !f.startsWith('--heap-growing-percent'))

function side(name: string, prefix: string, pipelines: string, records: number): Promise<RunResult> {
  const common = { BROKERS: brokers, PREFIX: prefix, PIPELINES: pipelines }
  if (name.startsWith('anchor')) return child('./kafka-engine-run.ts', { ...common, CONSUMERS: name.slice('anchor'.length), ...(registry ? { FORMAT: 'AvroConfluent', REGISTRY_URL: registry.url } : {}) })
  return child('./engine-run.ts', { ...common, RUN: 'throughput', TOTALS: '1', EVENTS: String(records), CLIENT: name === 'rdkafka' ? 'rdkafka' : 'kafkajs', ENCODING, LOG_LEVEL: 'silent' }, name === 'streamcube-v8-heap' ? V8_HEAP_FLAGS : WORKER_NODE_FLAGS)
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** The threads that took at least 0.2 CPU s, largest first (from process start: start-up included). */
const threadSummary = (r: RunResult) =>
  Object.entries(r.threads ?? {})
    .filter(([, v]) => v >= 0.2)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ')

const FORMAT_NAME = ENCODING === 'json' ? 'JSON' : 'Confluent Avro'
const label: Record<string, string> = { anchor1: 'Kafka engine + MVs, 1 consumer', anchor2: 'Kafka engine + MVs, 2 consumers', streamcube: `streamcube (kafkajs, ${FORMAT_NAME})`, 'streamcube-v8-heap': `streamcube (kafkajs, ${FORMAT_NAME}), V8's own old-generation growth (baseline)`, rdkafka: `streamcube (node-rdkafka, ${FORMAT_NAME})` }
const pct = (x: number, truth: number) => (truth === 0 ? 'n/a' : `${x === truth ? '±0' : `${x > truth ? '+' : ''}${(((x - truth) / truth) * 100).toFixed(2)}`} %`)

const lines: string[] = []
try {
  const prefix = `vs${Date.now().toString(36)}.`
  const truth = await prefill(prefix)
  console.log(`topics filled: ${fmt(truth.records)} records (${fmt(truth.facts)} events, ${truth.duplicates} re-sent, ${truth.late} too late, ${truth.malformed} malformed)`)
  for (const config of CONFIGS) {
    lines.push(`| ${config.name} | | | | | | |`)
    const runs = new Map<string, RunResult[]>(SIDES.map((s) => [s, []]))
    for (let i = 0; i < RUNS; i++) {
      for (const s of SIDES) {
        const r = await side(s, prefix, config.pipelines, truth.records)
        runs.get(s)!.push(r)
        console.log(config.name, s, `run ${i + 1}:`, fmt(truth.records / r.seconds), 'records/s', r.cpuSeconds.toFixed(1), 'CPU s', fmt(r.peakRss / 2 ** 20), 'MB', r.baseRss ? `(open ${fmt(r.baseRss / 2 ** 20)} MB, at the peak JS heap ${fmt((r.peakHeap ?? 0) / 2 ** 20)} MB, external ${fmt((r.peakExternal ?? 0) / 2 ** 20)} MB)` : '', r.flushes !== undefined ? `${r.flushes} flushes, inserts by table ${JSON.stringify(r.inserts)}` : '', JSON.stringify(r.threads))
      }
    }
    const medians = new Map<string, RunResult>()
    for (const [s, list] of runs) {
      const m: RunResult = { ...list[0]!, seconds: median(list.map((r) => r.seconds)), cpuSeconds: median(list.map((r) => r.cpuSeconds)), peakRss: median(list.map((r) => r.peakRss)) }
      medians.set(s, m)
      const rates = list.map((r) => truth.records / r.seconds)
      const cpu = list.map((r) => (r.cpuSeconds * 100_000) / truth.records)
      const rss = list.map((r) => r.peakRss / 2 ** 20)
      // Totals must agree across a side's runs; the first run's are shown, a disagreement is printed.
      const totals = (r: RunResult) => `${r.gmv}/${r.facts}/${r.activityEvents}`
      const agree = list.every((r) => totals(r) === totals(list[0]!)) ? '' : ` (runs disagree: ${list.map(totals).join(', ')})`
      lines.push(`| ${label[s] ?? s} | ${fmt(truth.records / m.seconds)} (${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}) | ${((m.cpuSeconds * 100_000) / truth.records).toFixed(2)} (${Math.min(...cpu).toFixed(2)}–${Math.max(...cpu).toFixed(2)}) | ${fmt(m.peakRss / 2 ** 20)} MB (${fmt(Math.min(...rss))}–${fmt(Math.max(...rss))}) | ${pct(m.gmv, truth.gmv)}${agree} | ${pct(m.facts, truth.facts)} | ${pct(m.activityEvents, truth.activityEvents)} |`)
      lines.push(`| ↳ CPU s by thread (median run) | ${threadSummary(list.find((r) => r.seconds === m.seconds) ?? list[0]!)} | | | | | |`)
    }
    const best = [...medians].filter(([k]) => k.startsWith('anchor')).map(([, r]) => r).sort((a, b) => a.seconds - b.seconds)[0]
    for (const [name, title] of [['streamcube', 'streamcube'], ['streamcube-v8-heap', "streamcube with V8's own growth"]] as const) {
      const ours = medians.get(name)
      if (!best || !ours) continue
      const ratio = `| **${title} / best anchor (medians)** | **${(best.seconds / ours.seconds).toFixed(2)}×** | **${(ours.cpuSeconds / best.cpuSeconds).toFixed(2)}×** | **${(ours.peakRss / best.peakRss).toFixed(2)}×** | | | |`
      lines.push(ratio)
      console.log(config.name, ratio)
    }
  }
  if (SIDES.join(',') === DEFAULT_SIDES || process.env.BENCH_WRITE === '1') {
    // The default size and format have their own section; another size (the 1.2M-event backlog) or format writes one of its own.
    const variant = [EVENTS === 382_000 ? '' : `-${EVENTS}`, ENCODING === 'json' ? '' : `-${ENCODING}`].join('')
    writeSection(
      `vs-kafka-engine${variant}`,
      `### streamcube against ClickHouse's Kafka engine + materialized views, same topics, same cubes${EVENTS === 382_000 ? '' : ` (a ${fmt(EVENTS)}-event backlog)`}${ENCODING === 'json' ? '' : `, ${FORMAT_NAME} topics`}
Command: \`${ENCODING === 'json' ? '' : `BENCH_ENCODING=${ENCODING} `}npx tsx bench/vs-kafka-engine.ts\` — ${machine()}; ${brokerNote}; embedded ClickHouse (chDB).
Topics: ${fmt(truth.records)} ${FORMAT_NAME} records (${fmt(truth.facts)} generated events, ${truth.duplicates} re-sent, ${truth.late} paid orders a day too late, ${truth.malformed} malformed), 6 partitions per topic. Each run is a process of its own; the clock stops when its consumer group has committed every partition. streamcube's side runs the worker as it ships: the compiled modules of dist/, built by the bench first${process.env.BENCH_FROM === 'sources' ? ' (not this time: BENCH_FROM=sources, the TypeScript sources through tsx)' : ''}.
CPU is all threads of the process (JS, the engine's inserts, views and merges, librdkafka's threads for the anchor); the broker runs on the same 2 cores.
Each side ran ${RUNS} times, in turn; medians, with the range in brackets. Thread names: \`main (JS)\` is the JS thread, \`node\` V8's helpers (GC, compiler), \`RuntimeData\` the Kafka engine's streaming thread (librdkafka polling, parsing, views), \`Unknown\`/\`ThreadPool\` the engine's query threads (streamcube's inserts and views), \`MergeMutate\` background merges, \`KafkaBroker\` librdkafka.
Truth columns: the cubes' GMV (\`gmv_minute\`), raw fact rows and activity events against the generator's distinct events (re-sent records and late events excluded).

| side | records/s | CPU s per 100k | peak RSS | GMV vs truth | raw facts vs truth | activity vs truth |
|---|---:|---:|---:|---:|---:|---:|
${lines.join('\n')}`,
    )
  }
} finally {
  await stopBroker()
  registry?.close()
}

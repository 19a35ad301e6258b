/**
 * Question: how fast does `streamcube produce` fill the topics (generate + encode + send), and how
 * much of that is streamcube's own cost? Baseline in the same run: kafkajs sending the same
 * pre-encoded records with the same batch size and acks, so the difference is generation + encoding.
 *
 * Run: npx tsx bench/produce.ts   (uses KAFKA_BROKERS, or starts the local broker from the jars)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel, CompressionTypes } from 'kafkajs'
import { pino } from 'pino'
import { EventGenerator, produceGenerated } from '../generator/index.js'
import { createConfluentEncoder, jsonEncoder, type Encoder } from '../schemas/index.js'
import { startLocalBroker } from '../scripts/kafka/broker.js'
import { fmt, machine, writeSection } from './report.js'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000)
const START = Date.UTC(2026, 10, 15, 16)
const BATCH = 2000

let brokers = process.env.KAFKA_BROKERS
let stop = async () => {}
let brokerNote = `KAFKA_BROKERS=${brokers}`
if (!brokers) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-kafka-'))
  const b = await startLocalBroker({ dataDir: dir, partitions: 6 })
  brokers = b.brokers
  brokerNote = `local Kafka ${b.version} on the same machine (KRaft, -Xmx512m)`
  stop = async () => {
    await b.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
const kafka = new Kafka({ clientId: 'bench', brokers: [brokers], logLevel: logLevel.NOTHING })
const log = pino({ level: 'silent' })

async function baseline(encoder: Encoder, prefix: string): Promise<number> {
  const records = new EventGenerator({ seed: 1, start: START }).take(EVENTS).map((r) => ({ topic: `${prefix}${r.type}`, key: r.key, value: encoder.encode(r.event) }))
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: ['behaviour', 'order', 'inventory'].map((t) => ({ topic: `${prefix}${t}`, numPartitions: 6 })), waitForLeaders: true })
  await admin.disconnect()
  const producer = kafka.producer({ maxInFlightRequests: 1 })
  await producer.connect()
  const t0 = performance.now()
  for (let i = 0; i < records.length; i += BATCH) {
    const byTopic = new Map<string, { key: string; value: Buffer }[]>()
    for (const r of records.slice(i, i + BATCH)) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), { key: r.key, value: r.value }])
    await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) })
  }
  const rate = (records.length * 1000) / (performance.now() - t0)
  await producer.disconnect()
  return rate
}

const rows: string[] = []
try {
  for (const [encoding, encoder] of [['json', jsonEncoder], ['confluent-avro', createConfluentEncoder()]] as const) {
    const tag = Math.random().toString(36).slice(2, 8)
    const base = await baseline(encoder, `bench-base-${tag}.`)
    const summary = await produceGenerated(new EventGenerator({ seed: 1, start: START })[Symbol.iterator](), {
      brokers: [brokers],
      topicPrefix: `bench-${encoding}-${tag}.`,
      encoding,
      events: EVENTS,
      partitions: 6,
      batchSize: BATCH,
      log,
    })
    rows.push(`| ${encoding} | ${fmt(summary.eventsPerSecond)} | ${fmt(base)} | ${(summary.eventsPerSecond / base).toFixed(2)} | ${Math.round(summary.bytes / summary.sent)} B |`)
  }
} finally {
  await stop()
}

const body = `### produce (generate + encode + send to Kafka), one process

Question: how fast does \`streamcube produce\` fill the topics, and how much of it is streamcube's own cost?
Command: \`npx tsx bench/produce.ts\` (BENCH_EVENTS=${EVENTS}) — ${machine()}; broker: ${brokerNote}.
Baseline in the same run: kafkajs \`sendBatch\` of the same records pre-encoded, same batch size (${BATCH}), acks=all, one batch in flight.

| encoding | streamcube produce events/s | kafkajs pre-encoded baseline events/s | ratio | mean value size |
|---|---:|---:|---:|---:|
${rows.join('\n')}`
writeSection('produce', body)
process.stdout.write(`${body}\n`)

/**
 * A steady live load for bench/engine.ts's freshness runs, in its own process (in the worker's
 * process it would share the event loop it measures): RATE events/s for SECONDS seconds, JSON,
 * event time = send time. Prints the number sent, then the load's own CPU seconds, as the last line
 * ("<sent> <cpu>").
 *
 * LOAD_CLIENT=rdkafka (default where node-rdkafka built) produces with librdkafka, whose batching
 * and protocol work run in C threads: on the 2-core benchmark machine, which also runs the broker
 * and the worker under test, the load should take as little of it as it can. LOAD_CLIENT=kafkajs
 * produces with kafkajs (all of it on this process's JS thread).
 * Run by bench/engine.ts: BROKERS=… PREFIX=… RATE=… SECONDS=… npx tsx bench/load.ts
 */
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs'
import { EventGenerator } from '../generator/index.js'
import { loadRdkafka } from '../engine/index.js'
import { EventTypes, jsonEncoder, type TypedEvent } from '../schemas/index.js'

const RATE = Number(process.env.RATE ?? 20_000)
const SECONDS = Number(process.env.SECONDS ?? 20)
const PREFIX = process.env.PREFIX ?? 'fresh.'
const BROKERS = (process.env.BROKERS ?? '127.0.0.1:9092').split(',')

type Send = (batch: { topic: string; key: string; value: Buffer }[]) => Promise<void>

interface RdProducer {
  connect(opts: object, cb: (err: Error | null) => void): void
  produce(topic: string, partition: number | null, value: Buffer, key: string, timestamp: number): void
  poll(): void
  flush(timeoutMs: number, cb: (err: Error | null) => void): void
  disconnect(cb: () => void): void
  setPollInterval(ms: number): void
}

function client(): 'rdkafka' | 'kafkajs' {
  if (process.env.LOAD_CLIENT === 'kafkajs') return 'kafkajs'
  try {
    loadRdkafka()
    return 'rdkafka'
  } catch (err) {
    if (process.env.LOAD_CLIENT === 'rdkafka') throw err
    return 'kafkajs'
  }
}

async function rdkafkaSender(): Promise<{ send: Send; close(): Promise<void> }> {
  const { Producer } = loadRdkafka() as unknown as { Producer: new (conf: object, topicConf?: object) => RdProducer }
  // murmur2_random: the partitioner of the Java client and of kafkajs's default (same key, same partition).
  const producer = new Producer({ 'metadata.broker.list': BROKERS.join(','), 'client.id': 'bench-load', 'linger.ms': 5, 'queue.buffering.max.messages': 1_000_000, partitioner: 'murmur2_random', 'compression.codec': 'none' }, { 'request.required.acks': 1 })
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())))
  producer.setPollInterval(100)
  return {
    send: async (batch) => {
      const now = Date.now()
      for (const m of batch) producer.produce(m.topic, null, m.value, m.key, now)
    },
    close: async () => {
      await new Promise<void>((resolve, reject) => producer.flush(30_000, (err) => (err ? reject(err) : resolve())))
      await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
    },
  }
}

async function kafkajsSender(): Promise<{ send: Send; close(): Promise<void> }> {
  const kafka = new Kafka({ clientId: 'bench-load', brokers: BROKERS, logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  return {
    send: async (batch) => {
      const byTopic = new Map<string, { key: string; value: Buffer }[]>()
      for (const m of batch) {
        const list = byTopic.get(m.topic)
        if (list) list.push({ key: m.key, value: m.value })
        else byTopic.set(m.topic, [{ key: m.key, value: m.value }])
      }
      await producer.sendBatch({ acks: 1, compression: CompressionTypes.None, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) })
    },
    close: () => producer.disconnect(),
  }
}

const sender = client() === 'rdkafka' ? await rdkafkaSender() : await kafkajsSender()
const gen = new EventGenerator({ seed: 3, start: Date.now() - 2 * 86_400_000 })
const t0 = Date.now()
let sent = 0
while (Date.now() - t0 < SECONDS * 1000) {
  // At most 3000 per send: a producer that fell behind must not exceed the broker's message size.
  const due = Math.min(3000, Math.floor(((Date.now() - t0) / 1000) * RATE) - sent)
  if (due > 0) {
    const now = Date.now()
    const batch = gen.take(due).map((r) => ({ topic: `${PREFIX}${EventTypes[r.type].topic}`, key: r.key, value: jsonEncoder.encode({ ...r.event, event: { ...r.event.event, eventTime: now } } as TypedEvent) }))
    await sender.send(batch)
    sent += due
  } else await new Promise((r) => setTimeout(r, 10))
}
await sender.close()
const cpu = process.cpuUsage()
process.stdout.write(`${sent} ${((cpu.user + cpu.system) / 1e6).toFixed(2)}\n`)

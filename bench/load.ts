/**
 * A steady live load for bench/engine.ts's freshness runs, in its own process (in the worker's
 * process it would share the event loop it measures): RATE events/s for SECONDS seconds, JSON,
 * event time = send time. Prints the number sent as the last line.
 * Run by bench/engine.ts: BROKERS=… PREFIX=… RATE=… SECONDS=… npx tsx bench/load.ts
 */
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs'
import { EventGenerator } from '../pipelines/index.js'
import { EventTypes, jsonEncoder, type TypedEvent } from '../schemas/index.js'

const RATE = Number(process.env.RATE ?? 20_000)
const SECONDS = Number(process.env.SECONDS ?? 20)
const PREFIX = process.env.PREFIX ?? 'fresh.'
const kafka = new Kafka({ clientId: 'bench-load', brokers: (process.env.BROKERS ?? '127.0.0.1:9092').split(','), logLevel: logLevel.NOTHING })
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
await producer.connect()
const gen = new EventGenerator({ seed: 3, start: Date.now() - 2 * 86_400_000 })
const t0 = Date.now()
let sent = 0
while (Date.now() - t0 < SECONDS * 1000) {
  // At most 3000 per send: a producer that fell behind must not exceed the broker's message size.
  const due = Math.min(3000, Math.floor(((Date.now() - t0) / 1000) * RATE) - sent)
  if (due > 0) {
    const byTopic = new Map<string, { key: string; value: Buffer }[]>()
    const now = Date.now()
    for (const r of gen.take(due)) {
      const event = { ...r.event, event: { ...r.event.event, eventTime: now } } as TypedEvent
      const topic = `${PREFIX}${EventTypes[r.type].topic}`
      const list = byTopic.get(topic)
      if (list) list.push({ key: r.key, value: jsonEncoder.encode(event) })
      else byTopic.set(topic, [{ key: r.key, value: jsonEncoder.encode(event) }])
    }
    await producer.sendBatch({ acks: 1, compression: CompressionTypes.None, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) })
    sent += due
  } else await new Promise((r) => setTimeout(r, 10))
}
await producer.disconnect()
process.stdout.write(`${sent}\n`)

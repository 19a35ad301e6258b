import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { pino } from 'pino'
import type { Admin } from 'kafkajs'
import { EventGenerator, produceGenerated } from '../../../generator/index.js'
import { createConfluentCodec, createJsonCodec, type Codec, type EventType, type OrderEvent } from '../../../schemas/index.js'
import { brokers, deleteTopics, randomPrefix, testKafka } from '../../services/kafka.js'
import { consumeAll } from './consume.js'

const START = Date.UTC(2026, 10, 15, 16)
const log = pino({ level: 'silent' })
const bounds = { now: () => START + 30 * 86_400_000, maxFutureMs: 86_400_000, minEventTime: Date.UTC(2015, 0, 1) }
const STATUS_RANK: Record<string, number> = { created: 0, paid: 1, accepted: 2, sorted: 3, out_for_delivery: 4, delivered: 5 }

describe(`produce → real Kafka → kafkajs consumer (${inject('kafkaDescription')})`, () => {
  const kafka = testKafka()
  let admin: Admin
  const prefixes: string[] = []
  beforeAll(async () => {
    admin = kafka.admin()
    await admin.connect()
  })
  afterAll(async () => {
    for (const p of prefixes) await deleteTopics(admin, p)
    await admin.disconnect()
  })

  const cases: { encoding: 'json' | 'confluent-avro'; events: number; codec: (t: EventType) => Codec }[] = [
    { encoding: 'json', events: 100_000, codec: (t) => createJsonCodec(t, { bounds }) },
    { encoding: 'confluent-avro', events: 30_000, codec: () => createConfluentCodec({ bounds }) },
  ]
  for (const c of cases) {
    it(`${c.events} ${c.encoding} events arrive complete, keyed, in order per order, and every one decodes`, async () => {
      const prefix = randomPrefix(c.encoding)
      prefixes.push(prefix)
      const generator = new EventGenerator({ seed: 5, start: START })
      const expected = new EventGenerator({ seed: 5, start: START }).take(c.events)
      const summary = await produceGenerated(generator[Symbol.iterator](), { brokers: brokers(), topicPrefix: prefix, encoding: c.encoding, events: c.events, partitions: 3, log })
      expect(summary.sent).toBe(c.events)

      const topicType: Record<string, EventType> = { [`${prefix}behaviour`]: 'behaviour', [`${prefix}orders`]: 'order', [`${prefix}inventory`]: 'inventory' }
      const records = await consumeAll(kafka, Object.keys(topicType), c.events)
      expect(records).toHaveLength(c.events)

      const codecs = { behaviour: c.codec('behaviour'), order: c.codec('order'), inventory: c.codec('inventory') }
      const seen = new Map<string, number>()
      const lastStatus = new Map<string, { partition: number; rank: number }>()
      for (const r of records.sort((a, b) => (a.partition - b.partition) || Number(BigInt(a.offset) - BigInt(b.offset)))) {
        const type = topicType[r.topic] as EventType
        const decoded = codecs[type].decode(r.value)
        if (!decoded.ok) throw new Error(`${r.topic}/${r.partition}/${r.offset}: ${decoded.error.message}`)
        const event = decoded.value[0]!
        expect(event.type).toBe(type)
        seen.set(event.event.eventId, (seen.get(event.event.eventId) ?? 0) + 1)
        expect(r.headers?.['streamcube-event-type']?.toString()).toBe(type)
        if (event.type === 'order') {
          const o = event.event as OrderEvent
          expect(r.key).toBe(o.orderId)
          // Keyed by order id: the whole lifecycle is in one partition, in order.
          const rank = STATUS_RANK[o.status]
          const prev = lastStatus.get(o.orderId)
          if (prev) expect(r.partition).toBe(prev.partition)
          if (rank !== undefined) {
            if (prev) expect(rank).toBeGreaterThanOrEqual(prev.rank)
            lastStatus.set(o.orderId, { partition: r.partition, rank })
          }
        }
      }
      // Exactly the generated events, each once.
      expect(seen.size).toBe(c.events)
      for (const e of expected) expect(seen.get(e.event.event.eventId), e.event.event.eventId).toBe(1)
    })
  }
})

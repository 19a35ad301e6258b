import { Kafka, CompressionTypes, type Message, type Producer } from 'kafkajs'
import type { Logger } from 'pino'
import {
  avroEncoder,
  createConfluentEncoder,
  createConfluentRegistry,
  EventTypes,
  jsonEncoder,
  LOCAL_SCHEMA_IDS,
  EVENT_TYPES,
  type Encoder,
  type EventType,
} from '../schemas/index.js'
import { kafkajsLevel, kafkajsLogCreator } from '../sinks/kafka/kafkajs-logger.js'
import { ensureTopics } from '../sinks/kafka/topics.js'
import type { GeneratedRecord } from './generator.js'

export const ProduceEncoding = { json: 'json', confluentAvro: 'confluent-avro', avro: 'avro' } as const
export type ProduceEncoding = (typeof ProduceEncoding)[keyof typeof ProduceEncoding]

export interface ProduceOptions {
  readonly brokers: readonly string[]
  readonly clientId?: string
  readonly topicPrefix: string
  readonly encoding: ProduceEncoding
  readonly registryUrl?: string | null
  /** Stop after this many events… */
  readonly events?: number
  /** …or after this many seconds (whichever comes first). */
  readonly durationSeconds?: number
  /** Events per second; unlimited when omitted. */
  readonly rate?: number
  /** Partitions of topics this command creates. */
  readonly partitions?: number
  readonly batchSize?: number
  readonly log: Logger
  readonly onProgress?: (p: ProduceProgress) => void
  /** Stops early when aborted (Ctrl-C); what was sent stays sent. */
  readonly signal?: AbortSignal
}

export interface ProduceProgress {
  readonly sent: number
  readonly bytes: number
  readonly elapsedMs: number
  readonly byType: Readonly<Record<EventType, number>>
}

export interface ProduceSummary extends ProduceProgress {
  readonly topics: Readonly<Record<EventType, string>>
  readonly eventsPerSecond: number
}

const CONTENT_TYPE: Record<ProduceEncoding, string> = {
  json: 'application/json',
  avro: 'application/avro',
  'confluent-avro': 'application/vnd.confluent.avro',
}

async function encoderFor(options: ProduceOptions, topics: Record<EventType, string>): Promise<Encoder> {
  if (options.encoding === 'json') return jsonEncoder
  if (options.encoding === 'avro') return avroEncoder
  if (!options.registryUrl) return createConfluentEncoder(LOCAL_SCHEMA_IDS)
  const registry = createConfluentRegistry(options.registryUrl)
  const ids = {} as Record<EventType, number>
  for (const type of EVENT_TYPES) ids[type] = await registry.register(type, `${topics[type]}-value`)
  options.log.info({ ids }, 'schemas registered')
  return createConfluentEncoder(ids)
}

/**
 * Writes generated records to the three topics, keyed (order id, user id, sku) so that one
 * order's lifecycle stays in one partition and in order. One batch is in flight at a time for the
 * same reason: a retried batch cannot overtake a later one.
 */
export async function produceGenerated(source: Iterator<GeneratedRecord>, options: ProduceOptions): Promise<ProduceSummary> {
  const topics = Object.fromEntries(EVENT_TYPES.map((t) => [t, `${options.topicPrefix}${EventTypes[t].topic}`])) as Record<EventType, string>
  const kafka = new Kafka({
    clientId: options.clientId ?? 'streamcube-produce',
    brokers: [...options.brokers],
    logLevel: kafkajsLevel(options.log.level),
    logCreator: kafkajsLogCreator(options.log),
  })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const created = await ensureTopics(admin, Object.values(topics), options.partitions ?? 6)
    if (created.length) options.log.info({ topics: created }, 'topics created')
  } finally {
    await admin.disconnect()
  }
  const encoder = await encoderFor(options, topics)
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1 })
  await producer.connect()
  const contentType = CONTENT_TYPE[options.encoding]
  const batchSize = options.batchSize ?? 2000
  const limit = options.events ?? Number.POSITIVE_INFINITY
  const deadline = options.durationSeconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.durationSeconds * 1000
  const byType: Record<EventType, number> = { behaviour: 0, order: 0, inventory: 0 }
  const started = Date.now()
  let sent = 0
  let bytes = 0
  const progress = (): ProduceProgress => ({ sent, bytes, elapsedMs: Date.now() - started, byType: { ...byType } })
  // One batch in flight (order per key), but the next batch is generated and encoded while the
  // previous one is on the wire.
  let inFlight: Promise<void> | undefined
  let built = 0
  try {
    while (built < limit && Date.now() < deadline && !options.signal?.aborted) {
      let n = Math.min(batchSize, limit - built)
      if (options.rate) n = Math.min(n, Math.max(1, Math.ceil(options.rate / 10)))
      const messages: Record<EventType, Message[]> = { behaviour: [], order: [], inventory: [] }
      let batchBytes = 0
      const batchTypes: Record<EventType, number> = { behaviour: 0, order: 0, inventory: 0 }
      for (let i = 0; i < n; i++) {
        const r = source.next().value as GeneratedRecord
        const value = encoder.encode(r.event)
        batchBytes += value.length
        // The record timestamp is left to the producer (send time): event time travels in the payload,
        // and brokers reject CreateTimes more than log.message.timestamp.after.max.ms (1 h) ahead.
        messages[r.type].push({ key: r.key, value, headers: { 'content-type': contentType, 'streamcube-event-type': r.type } })
        batchTypes[r.type]++
      }
      built += n
      await inFlight
      inFlight = producer
        .sendBatch({
          acks: -1,
          compression: CompressionTypes.None,
          topicMessages: EVENT_TYPES.filter((t) => messages[t].length > 0).map((t) => ({ topic: topics[t], messages: messages[t] })),
        })
        .then(() => {
          sent += n
          bytes += batchBytes
          for (const t of EVENT_TYPES) byType[t] += batchTypes[t]
          options.onProgress?.(progress())
        })
      // Handled when awaited on the next turn; this keeps a failure during the rate-limit sleep
      // from surfacing as an unhandled rejection first.
      inFlight.catch(() => {})
      if (options.rate) {
        // Token bucket: wait until the schedule catches up with what was handed to the producer.
        const due = started + (built / options.rate) * 1000
        const wait = due - Date.now()
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      }
    }
    await inFlight
  } finally {
    await producer.disconnect()
  }
  const p = progress()
  return { ...p, topics, eventsPerSecond: p.elapsedMs > 0 ? Math.round((p.sent * 1000) / p.elapsedMs) : p.sent }
}

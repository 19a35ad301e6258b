import { Partitioners, type Kafka, type Producer } from 'kafkajs'
import type { DecodeError } from '../schemas/index.js'

/** A record that leaves the pipeline on a side topic (dead letter or too late), with its original bytes. */
export interface ForwardedRecord {
  readonly sourceTopic: string
  readonly sourcePartition: number
  readonly sourceOffset: string
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: Readonly<Record<string, Buffer | string | undefined>>
}

/** Where dead letters and late events go. */
export interface Forwarder {
  deadLetter(records: readonly { record: ForwardedRecord; error: DecodeError }[], pipeline: string): Promise<void>
  late(records: readonly { record: ForwardedRecord; eventId: string; eventTime: number; watermark: number }[], pipeline: string): Promise<void>
}

/**
 * The forwarder's producer. Idempotent: a send the client retries (a request that timed out, a
 * connection lost after the broker had appended it) is appended once, because the broker drops
 * the retry by its producer id and sequence numbers. kafkajs serialises an idempotent producer's
 * requests per broker, so concurrent flushes' sends keep their sequences in order. (A flush that
 * fails and runs again, or a replay after a crash, sends again: that is a new send, not a retry.)
 */
export function createForwarderProducer(kafka: Kafka): Producer {
  return kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 })
}

/**
 * Sends dead letters and late events with kafkajs, acks=all, before the offsets that cover them are
 * committed (so none is lost; a replay may send one again, and the headers name the source
 * position so a reader can tell). Original key, value and headers are kept; streamcube's own
 * headers say why.
 */
export function createKafkaForwarder(producer: Producer, topics: { deadLetter: string; late: string }): Forwarder {
  const sourceHeaders = (r: ForwardedRecord, pipeline: string) => ({
    'streamcube-source-topic': r.sourceTopic,
    'streamcube-source-partition': String(r.sourcePartition),
    'streamcube-source-offset': r.sourceOffset,
    'streamcube-pipeline': pipeline,
    'streamcube-time': new Date().toISOString(),
  })
  const original = (h: ForwardedRecord['headers']) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, Buffer | string>
  return {
    async deadLetter(records, pipeline) {
      if (records.length === 0) return
      await sendInChunks(producer, topics.deadLetter, records.map(({ record, error }) => ({
          key: record.key,
          value: record.value,
          headers: {
            ...original(record.headers),
            ...sourceHeaders(record, pipeline),
            'streamcube-error-code': error.code,
            'streamcube-error-reason': error.reason,
            'streamcube-error-path': error.path,
          },
        })),
      )
    },
    async late(records, pipeline) {
      if (records.length === 0) return
      await sendInChunks(producer, topics.late, records.map(({ record, eventId, eventTime, watermark }) => ({
          key: record.key,
          value: record.value,
          headers: {
            ...original(record.headers),
            ...sourceHeaders(record, pipeline),
            'streamcube-event-id': eventId,
            'streamcube-event-time': String(eventTime),
            'streamcube-watermark': String(watermark),
          },
        })),
      )
    },
  }
}

/**
 * Kafka refuses a produce request's record batch over the topic's max.message.bytes (1 MB by
 * default): a flush's dead letters or late events go out in requests under this many bytes, in
 * order, one at a time (a retry of the flush re-sends them all; the source headers tell copies apart).
 */
export const MAX_REQUEST_BYTES = 512 * 1024

type Message = { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | string> }

async function sendInChunks(producer: Producer, topic: string, messages: Message[]): Promise<void> {
  let chunk: Message[] = []
  let bytes = 0
  for (const m of messages) {
    const size = messageBytes(m)
    if (chunk.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
      await producer.send({ topic, acks: -1, messages: chunk })
      chunk = []
      bytes = 0
    }
    chunk.push(m)
    bytes += size
  }
  if (chunk.length > 0) await producer.send({ topic, acks: -1, messages: chunk })
}

/** An upper estimate of a record's size in a batch (lengths, varints and attributes: 64 bytes). */
function messageBytes(m: Message): number {
  let n = 64 + (m.key?.length ?? 0) + (m.value?.length ?? 0)
  for (const [k, v] of Object.entries(m.headers)) n += 16 + Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : v.length)
  return n
}

import type { Producer } from 'kafkajs'
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
      await producer.send({
        topic: topics.deadLetter,
        acks: -1,
        messages: records.map(({ record, error }) => ({
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
      })
    },
    async late(records, pipeline) {
      if (records.length === 0) return
      await producer.send({
        topic: topics.late,
        acks: -1,
        messages: records.map(({ record, eventId, eventTime, watermark }) => ({
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
      })
    },
  }
}

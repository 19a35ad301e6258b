import { createRequire } from 'node:module'
import { EngineError, EngineErrorCode } from './errors.js'
import type { SourceRecord } from './source-record.js'

/** A record as a fetcher delivers it: a SourceRecord with where it came from. */
export interface FetchedRecord extends SourceRecord {
  readonly topic: string
  readonly partition: number
}

export interface FetchPosition {
  readonly topic: string
  readonly partition: number
  /** The next offset to read; null: the beginning of the partition. */
  readonly offset: bigint | null
}

/**
 * Reads assigned partitions from given offsets: the data path of a worker whose group membership
 * and offset commits stay with kafkajs (see RdkafkaTransport). It never joins a
 * group and never commits.
 */
export interface RecordFetcher {
  connect(): Promise<void>
  /** Replaces the assignment: each partition is read from its position. */
  assign(positions: readonly FetchPosition[]): void
  /** Moves one assigned partition; records fetched from the old position are not delivered after it. */
  seek(position: FetchPosition): Promise<void>
  unassign(): void
  /** Up to `max` records; an empty array after a short wait when there are none. */
  fetch(max: number): Promise<FetchedRecord[]>
  /** The partition's high watermark as last seen by the fetcher (null if not known yet). */
  highWatermark(topic: string, partition: number): bigint | null
  disconnect(): Promise<void>
}

/* The part of node-rdkafka's API this file uses (node-rdkafka is an optional dependency: its
 * types cannot be imported where it did not build). */
interface RdMessage {
  value: Buffer | null
  key?: Buffer | string | null
  topic: string
  partition: number
  offset: number
  timestamp?: number
  headers?: Record<string, string | Buffer>[]
}
interface RdConsumer {
  connect(options: object, cb: (err: Error | null) => void): void
  disconnect(cb: (err: Error | null) => void): void
  assign(list: { topic: string; partition: number; offset: number }[]): void
  unassign(): void
  seek(toppar: { topic: string; partition: number; offset: number }, timeout: number, cb: (err: Error | null) => void): void
  consume(n: number, cb: (err: Error | null, messages: RdMessage[]) => void): void
  setDefaultConsumeTimeout(ms: number): void
  getWatermarkOffsets(topic: string, partition: number): { highOffset: number; lowOffset: number }
  isConnected(): boolean
  on(event: 'event.error', cb: (err: Error) => void): void
}
interface RdModule {
  KafkaConsumer: new (global: Record<string, unknown>, topic: Record<string, unknown>) => RdConsumer
  librdkafkaVersion: string
}

/** librdkafka's logical offset "beginning of the partition". */
const OFFSET_BEGINNING = -2

/** Loads node-rdkafka, or says how to get it (`load` is for tests: a machine where it did not build). */
export function loadRdkafka(load: (id: string) => unknown = createRequire(import.meta.url)): RdModule {
  try {
    return load('node-rdkafka') as RdModule
  } catch (err) {
    throw new EngineError(
      EngineErrorCode.TRANSPORT_UNAVAILABLE,
      `KAFKA_CLIENT=rdkafka needs node-rdkafka, an optional dependency that did not install here (${(err as Error).message.split('\n')[0]}). ` +
        'Install it with `npm install node-rdkafka` (it builds librdkafka: needs a C/C++ toolchain, make and python3), or set KAFKA_CLIENT=kafkajs.',
    )
  }
}

export interface RdkafkaFetcherOptions {
  readonly brokers: readonly string[]
  readonly clientId: string
  /** librdkafka needs a group id even for assign(); it is never joined or committed to. */
  readonly groupId: string
  /** How long a fetch waits for each next record (for a first one: before returning empty). */
  readonly waitMs?: number
  /** Upper bound of the pre-fetched queue (librdkafka's queued.max.messages.kbytes: the consumer queue, all partitions). */
  readonly queuedKbytes?: number
}

/** node-rdkafka's KafkaConsumer in assign mode: librdkafka's C fetcher, decompression and queues. */
export function createRdkafkaFetcher(options: RdkafkaFetcherOptions): RecordFetcher {
  const rd = loadRdkafka()
  const consumer = new rd.KafkaConsumer(
    {
      'metadata.broker.list': options.brokers.join(','),
      'client.id': options.clientId,
      'group.id': options.groupId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      // A fetch waits up to waitMs for each next record until it holds `max`: without end-of-partition
      // events a caught-up worker would wait for `max` records to arrive (2 s at 5k records/s);
      // with them, it returns what is queued as soon as the partitions it reads are drained.
      'enable.partition.eof': true,
      'fetch.wait.max.ms': 100,
      'fetch.min.bytes': 1,
      'queued.max.messages.kbytes': options.queuedKbytes ?? 32_768,
      'socket.keepalive.enable': true,
    },
    { 'auto.offset.reset': 'earliest' },
  )
  consumer.setDefaultConsumeTimeout(options.waitMs ?? 100)
  let lastError: Error | null = null
  consumer.on('event.error', (err) => {
    lastError = err
  })
  const toOffset = (p: FetchPosition) => (p.offset === null ? OFFSET_BEGINNING : Number(p.offset))
  return {
    connect: () =>
      new Promise<void>((resolve, reject) =>
        consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(new EngineError(EngineErrorCode.TRANSPORT_UNAVAILABLE, `node-rdkafka could not connect to ${options.brokers.join(',')}: ${err.message}`)) : resolve())),
      ),
    assign(positions) {
      consumer.assign(positions.map((p) => ({ topic: p.topic, partition: p.partition, offset: toOffset(p) })))
    },
    seek: (p) =>
      new Promise<void>((resolve, reject) =>
        consumer.seek({ topic: p.topic, partition: p.partition, offset: toOffset(p) }, 10_000, (err) => (err ? reject(err) : resolve())),
      ),
    unassign() {
      if (consumer.isConnected()) consumer.unassign()
    },
    fetch: (max) =>
      new Promise<FetchedRecord[]>((resolve, reject) => {
        if (!consumer.isConnected()) return reject(new EngineError(EngineErrorCode.TRANSPORT_UNAVAILABLE, `node-rdkafka is not connected${lastError ? `: ${lastError.message}` : ''}`))
        consumer.consume(max, (err, messages) => {
          if (err) return reject(err)
          resolve(messages.map(toRecord))
        })
      }),
    highWatermark(topic, partition) {
      try {
        const { highOffset } = consumer.getWatermarkOffsets(topic, partition)
        return highOffset >= 0 ? BigInt(highOffset) : null
      } catch {
        return null
      }
    },
    disconnect: () => new Promise<void>((resolve) => (consumer.isConnected() ? consumer.disconnect(() => resolve()) : resolve())),
  }
}

function toRecord(m: RdMessage): FetchedRecord {
  const headers: Record<string, Buffer | string> = {}
  if (m.headers) for (const h of m.headers) for (const k of Object.keys(h)) headers[k] = h[k]!
  return {
    topic: m.topic,
    partition: m.partition,
    offset: String(m.offset),
    key: m.key === undefined || m.key === null ? null : Buffer.isBuffer(m.key) ? m.key : Buffer.from(m.key),
    value: m.value,
    headers,
    timestamp: String(m.timestamp ?? -1),
  }
}

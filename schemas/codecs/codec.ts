import type { DecodeResult } from '../errors.js'
import type { TypedEvent } from '../events.js'

export const CodecFormat = {
  json: 'json',
  avro: 'avro',
  confluentAvro: 'confluent-avro',
  debezium: 'debezium',
  canal: 'canal',
} as const
export type CodecFormat = (typeof CodecFormat)[keyof typeof CodecFormat]

/**
 * Turns the bytes of one Kafka record into zero or more events. `decode` never throws: it returns
 * the events or a typed DecodeError. A CDC record can carry several rows (Canal) or none (a
 * tombstone, a DDL statement), hence the array.
 */
export interface Codec {
  readonly format: CodecFormat
  decode(bytes: Buffer | null): DecodeResult<readonly TypedEvent[]>
  /**
   * Fetches what `decode` needs from the network for a batch (schema ids from a registry), so that
   * decode itself stays synchronous on the hot path. A no-op for self-contained formats.
   */
  prepare?(batch: readonly (Buffer | null)[]): Promise<void>
  /**
   * The writer schema of a record `decode` accepted (Confluent: `confluent-avro:<schema id>`), for
   * data quality's schema-version mix. Returns a cached string: it runs on the hot path. A codec
   * without it is counted under its format.
   */
  schemaOf?(bytes: Buffer): string
}

/** Turns an event into the bytes of a Kafka record value. */
export interface Encoder {
  readonly format: CodecFormat
  encode(event: TypedEvent): Buffer
}

/** Limits every codec applies before parsing. */
export interface CodecLimits {
  /** The largest record value accepted. Default 1 MiB. */
  readonly maxBytes: number
}
export const DEFAULT_LIMITS: CodecLimits = Object.freeze({ maxBytes: 1024 * 1024 })

import { DecodeErrorCode, fail, ok, type DecodeResult } from '../errors.js'
import type { EventType, TypedEvent } from '../events.js'
import { DEFAULT_TIME_BOUNDS, type TimeBounds } from '../validate.js'
import type { JsonEventScanner } from './json-scan.js'

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
  /**
   * The JSON codec's fast path for its plain records (json-scan.ts): a scanner whose acceptance
   * means `decode` would return exactly the event it describes. Absent for other formats.
   */
  readonly scanner?: JsonEventScanner
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

/** What every codec may be given: the record limits and the event-time bounds it checks. */
export interface CodecOptions {
  readonly limits?: CodecLimits
  readonly bounds?: TimeBounds
}

/** A codec's limits and bounds, the defaults filled in. */
export function codecDefaults(options: CodecOptions): { limits: CodecLimits; bounds: TimeBounds } {
  return { limits: options.limits ?? DEFAULT_LIMITS, bounds: options.bounds ?? DEFAULT_TIME_BOUNDS }
}

/**
 * The check every codec makes before it parses: a value, within the size limit. A guard, so the
 * hot path allocates nothing for a record that passes; sizeFailure says why one does not.
 */
export function fitsLimits(bytes: Buffer | null, limits: CodecLimits): bytes is Buffer {
  return bytes !== null && bytes.length > 0 && bytes.length <= limits.maxBytes
}

/** Why a value does not fit the limits (call it where fitsLimits said no). */
export function sizeFailure(bytes: Buffer | null, limits: CodecLimits): DecodeResult<never> {
  if (bytes === null || bytes.length === 0) return fail(DecodeErrorCode.EMPTY, 'the record has no value')
  return fail(DecodeErrorCode.TOO_LARGE, `${bytes.length} bytes exceed the ${limits.maxBytes}-byte limit`)
}

/**
 * A codec whose every record is one event of a known type (plain JSON, raw Avro): the size
 * checks, then `decodeOne` on the value.
 */
export function singleEventCodec(
  format: CodecFormat,
  type: EventType,
  options: CodecOptions,
  decodeOne: (type: EventType, value: Buffer, bounds: TimeBounds) => DecodeResult<TypedEvent>,
): Codec {
  const { limits, bounds } = codecDefaults(options)
  return {
    format,
    decode(bytes) {
      if (!fitsLimits(bytes, limits)) return sizeFailure(bytes, limits)
      const result = decodeOne(type, bytes, bounds)
      return result.ok ? ok([result.value]) : result
    },
  }
}

import type avro from 'avsc'
import { avroType } from '../avro.js'
import { DecodeErrorCode, fail, ok, type DecodeResult } from '../errors.js'
import type { EventType, TypedEvent } from '../events.js'
import { DEFAULT_TIME_BOUNDS, validateEvent, type TimeBounds } from '../validate.js'
import { DEFAULT_LIMITS, type Codec, type CodecLimits, type Encoder } from './codec.js'

/**
 * Decodes one Avro body (no container header) written with `writer` into the reader schema of
 * `type`. avsc reports a short buffer with a negative offset and throws on invalid data (a bad
 * union or enum index, a negative length); both become typed errors here.
 */
export function decodeAvroBody(
  type: EventType,
  body: Buffer,
  bounds: TimeBounds,
  resolver?: avro.Resolver,
): DecodeResult<TypedEvent> {
  let decoded: { value: unknown; offset: number }
  try {
    decoded = avroType(type).decode(body, 0, resolver)
  } catch (err) {
    return fail(DecodeErrorCode.AVRO_INVALID, `not a valid ${type} Avro record: ${(err as Error).message}`, undefined, err)
  }
  if (decoded.offset < 0) return fail(DecodeErrorCode.AVRO_TRUNCATED, `the Avro body ends early (${body.length} bytes)`)
  if (decoded.offset !== body.length) {
    return fail(DecodeErrorCode.AVRO_TRAILING_BYTES, `${body.length - decoded.offset} bytes follow the Avro record`)
  }
  return validateEvent(type, decoded.value, bounds)
}

/** A raw Avro binary codec for one event type (the schema is known out of band). */
export function createAvroCodec(type: EventType, options: { limits?: CodecLimits; bounds?: TimeBounds } = {}): Codec {
  const limits = options.limits ?? DEFAULT_LIMITS
  const bounds = options.bounds ?? DEFAULT_TIME_BOUNDS
  return {
    format: 'avro',
    decode(bytes) {
      if (bytes === null || bytes.length === 0) return fail(DecodeErrorCode.EMPTY, 'the record has no value')
      if (bytes.length > limits.maxBytes) return fail(DecodeErrorCode.TOO_LARGE, `${bytes.length} bytes exceed the ${limits.maxBytes}-byte limit`)
      const result = decodeAvroBody(type, bytes, bounds)
      return result.ok ? ok([result.value]) : result
    },
  }
}

export const avroEncoder: Encoder = {
  format: 'avro',
  encode: (e: TypedEvent) => avroType(e.type).toBuffer(e.event),
}

import type avro from 'avsc'
import { avroType } from '../avro.js'
import { DecodeErrorCode, fail, type DecodeResult } from '../errors.js'
import type { EventType, TypedEvent } from '../events.js'
import { validateEvent, type TimeBounds } from '../validate.js'
import { singleEventCodec, type Codec, type CodecOptions, type Encoder } from './codec.js'

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
export function createAvroCodec(type: EventType, options: CodecOptions = {}): Codec {
  return singleEventCodec('avro', type, options, (t, value, bounds) => decodeAvroBody(t, value, bounds))
}

export const avroEncoder: Encoder = {
  format: 'avro',
  encode: (e: TypedEvent) => avroType(e.type).toBuffer(e.event),
}

import { isUtf8 } from 'node:buffer'
import { DecodeErrorCode, fail, ok, type DecodeResult } from '../errors.js'
import type { EventType, TypedEvent } from '../events.js'
import { DEFAULT_TIME_BOUNDS, validateEvent, type TimeBounds } from '../validate.js'
import { DEFAULT_LIMITS, type Codec, type CodecLimits, type Encoder } from './codec.js'

/** Checks size and UTF-8, then parses JSON. Shared by the JSON and CDC codecs. */
export function parseJsonBytes(bytes: Buffer | null, limits: CodecLimits): DecodeResult<unknown> {
  if (bytes === null || bytes.length === 0) return fail(DecodeErrorCode.EMPTY, 'the record has no value')
  if (bytes.length > limits.maxBytes) return fail(DecodeErrorCode.TOO_LARGE, `${bytes.length} bytes exceed the ${limits.maxBytes}-byte limit`)
  if (!isUtf8(bytes)) return fail(DecodeErrorCode.INVALID_UTF8, 'the value is not valid UTF-8')
  try {
    return ok(JSON.parse(bytes.toString('utf8')) as unknown)
  } catch (err) {
    return fail(DecodeErrorCode.JSON_SYNTAX, (err as Error).message, undefined, err)
  }
}

/** A JSON codec for one event type (one object per record). */
export function createJsonCodec(type: EventType, options: { limits?: CodecLimits; bounds?: TimeBounds } = {}): Codec {
  const limits = options.limits ?? DEFAULT_LIMITS
  const bounds = options.bounds ?? DEFAULT_TIME_BOUNDS
  return {
    format: 'json',
    decode(bytes) {
      const parsed = parseJsonBytes(bytes, limits)
      if (!parsed.ok) return parsed
      if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
        return fail(DecodeErrorCode.VALIDATION, 'expected a JSON object')
      }
      const result = validateEvent(type, parsed.value, bounds)
      return result.ok ? ok([result.value]) : result
    },
  }
}

export const jsonEncoder: Encoder = {
  format: 'json',
  encode: (e: TypedEvent) => Buffer.from(JSON.stringify(e.event)),
}

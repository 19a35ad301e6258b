import { isUtf8 } from 'node:buffer'
import { DecodeErrorCode, fail, ok, type DecodeResult } from '../errors.js'
import type { EventType, TypedEvent } from '../events.js'
import { validateEvent, type TimeBounds } from '../validate.js'
import { JsonEventScanner } from './json-scan.js'
import { codecDefaults, fitsLimits, singleEventCodec, sizeFailure, type Codec, type CodecLimits, type CodecOptions, type Encoder } from './codec.js'

/** Checks size and UTF-8, then parses JSON. Shared by the JSON and CDC codecs. */
export function parseJsonBytes(bytes: Buffer | null, limits: CodecLimits): DecodeResult<unknown> {
  return fitsLimits(bytes, limits) ? parseJson(bytes) : sizeFailure(bytes, limits)
}

/** Checks UTF-8, then parses JSON. */
function parseJson(value: Buffer): DecodeResult<unknown> {
  if (!isUtf8(value)) return fail(DecodeErrorCode.INVALID_UTF8, 'the value is not valid UTF-8')
  try {
    return ok(JSON.parse(value.toString('utf8')) as unknown)
  } catch (err) {
    return fail(DecodeErrorCode.JSON_SYNTAX, (err as Error).message, undefined, err)
  }
}

/** One event of a known type from a JSON object. */
function decodeJsonEvent(type: EventType, value: Buffer, bounds: TimeBounds): DecodeResult<TypedEvent> {
  const parsed = parseJson(value)
  if (!parsed.ok) return parsed
  if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) return fail(DecodeErrorCode.VALIDATION, 'expected a JSON object')
  return validateEvent(type, parsed.value, bounds)
}

/** A JSON codec for one event type (one object per record). */
export function createJsonCodec(type: EventType, options: CodecOptions = {}): Codec {
  const { limits, bounds } = codecDefaults(options)
  const scanner = JsonEventScanner.for(type, limits, bounds)
  return { ...singleEventCodec('json', type, options, decodeJsonEvent), ...(scanner ? { scanner } : {}) }
}

export const jsonEncoder: Encoder = {
  format: 'json',
  encode: (e: TypedEvent) => Buffer.from(JSON.stringify(e.event)),
}

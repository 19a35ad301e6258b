import { StreamcubeError } from './streamcube-error.js'

/** Every way a record can fail to become an event. Closed list; a test holds the codes unique. */
export const DecodeErrorCode = {
  EMPTY: 'DECODE_EMPTY',
  TOO_LARGE: 'DECODE_TOO_LARGE',
  INVALID_UTF8: 'DECODE_INVALID_UTF8',
  JSON_SYNTAX: 'DECODE_JSON_SYNTAX',
  AVRO_TRUNCATED: 'DECODE_AVRO_TRUNCATED',
  AVRO_INVALID: 'DECODE_AVRO_INVALID',
  AVRO_TRAILING_BYTES: 'DECODE_AVRO_TRAILING_BYTES',
  MAGIC_BYTE: 'DECODE_MAGIC_BYTE',
  UNKNOWN_SCHEMA_ID: 'DECODE_UNKNOWN_SCHEMA_ID',
  REGISTRY_UNAVAILABLE: 'DECODE_REGISTRY_UNAVAILABLE',
  SCHEMA_MISMATCH: 'DECODE_SCHEMA_MISMATCH',
  VALIDATION: 'DECODE_VALIDATION',
  TIMESTAMP_UNIT: 'DECODE_TIMESTAMP_UNIT',
  TIMESTAMP_RANGE: 'DECODE_TIMESTAMP_RANGE',
  CDC_ENVELOPE: 'DECODE_CDC_ENVELOPE',
  CDC_UNKNOWN_TABLE: 'DECODE_CDC_UNKNOWN_TABLE',
  CDC_OPERATION: 'DECODE_CDC_OPERATION',
  CDC_COLUMN: 'DECODE_CDC_COLUMN',
  STREAM_MISMATCH: 'DECODE_STREAM_MISMATCH',
} as const
export type DecodeErrorCode = (typeof DecodeErrorCode)[keyof typeof DecodeErrorCode]

/**
 * A record that could not be decoded or validated. `path` names the offending field
 * (`lines.0.qty`), `reason` says what was wrong in words an operator can act on.
 * Only DECODE_REGISTRY_UNAVAILABLE is retryable: every other failure is a property of the bytes.
 */
export class DecodeError extends StreamcubeError<DecodeErrorCode> {
  readonly reason: string
  readonly path: string

  constructor(code: DecodeErrorCode, reason: string, options: { path?: string; cause?: unknown; context?: Record<string, unknown> } = {}) {
    const path = options.path ?? ''
    super(code, path ? `${code}: ${reason} (at ${path})` : `${code}: ${reason}`, {
      retryable: code === DecodeErrorCode.REGISTRY_UNAVAILABLE,
      cause: options.cause,
      context: options.context,
    })
    this.reason = reason
    this.path = path
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), reason: this.reason, path: this.path }
  }
}

/** A decode outcome: never a throw. */
export type DecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DecodeError }

export const ok = <T>(value: T): DecodeResult<T> => ({ ok: true, value })
export const fail = <T = never>(code: DecodeErrorCode, reason: string, path?: string, cause?: unknown): DecodeResult<T> => ({
  ok: false,
  error: new DecodeError(code, reason, { path, cause }),
})

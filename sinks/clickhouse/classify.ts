/*
 * The one classifier of ClickHouse failures, for every caller: the sink's retries (a permanent
 * error is not retried) and the API (a timeout is a 504, an unreachable server a 503).
 */

/** What a failed ClickHouse statement says about retrying it. */
export type ClickHouseFailure = 'timeout' | 'unreachable' | 'permanent' | 'transient'

// Error types that say the data or the schema is wrong: a retry cannot help.
const PERMANENT = /^(CANNOT_PARSE|CANNOT_READ|TYPE_MISMATCH|UNKNOWN_TABLE|UNKNOWN_DATABASE|UNKNOWN_IDENTIFIER|NO_SUCH_COLUMN|ILLEGAL_|INCORRECT_DATA|SYNTAX_ERROR|UNKNOWN_SETTING|NOT_IMPLEMENTED|READONLY|ACCESS_DENIED|AUTHENTICATION_FAILED|INCORRECT_NUMBER_OF_COLUMNS|THERE_IS_NO_COLUMN|DUPLICATE_COLUMN|SIZES_OF_ARRAYS_DONT_MATCH|VALUE_IS_OUT_OF_RANGE)/
const UNREACHABLE = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EPIPE|ETIMEDOUT|EHOSTUNREACH)$/

export function classifyClickHouseError(err: unknown): ClickHouseFailure {
  const e = (err ?? {}) as { code?: unknown; type?: unknown; message?: unknown; name?: unknown }
  if (e.type === 'TIMEOUT_EXCEEDED' || e.code === '159' || e.name === 'AbortError') return 'timeout'
  if ((typeof e.code === 'string' && UNREACHABLE.test(e.code)) || /socket|connect/i.test(String(e.message ?? ''))) return 'unreachable'
  if (typeof e.type === 'string' && PERMANENT.test(e.type)) return 'permanent'
  return 'transient'
}

/** Network failures, timeouts and overload are retryable; errors about the data or schema are not. */
export function isRetryableClickHouseError(err: unknown): boolean {
  return classifyClickHouseError(err) !== 'permanent'
}

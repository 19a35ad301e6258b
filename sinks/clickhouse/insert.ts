import type { ClickHouse } from './client.js'
import { SinkError, SinkErrorCode } from '../errors.js'

/**
 * Inserts rows as JSONEachRow with the settings an exactly-once sink needs, set on EVERY insert:
 * on the embedded engine settings are session state and a token left over from the previous
 * insert would make ClickHouse drop the next, different batch as a duplicate. So a batch without
 * a token explicitly sends the empty token. Synchronous inserts: the data is in the table when
 * the promise resolves, which is what makes committing offsets afterwards safe.
 */
export async function insertRows(
  ch: ClickHouse,
  table: string,
  rows: readonly Record<string, unknown>[],
  options: { deduplicationToken?: string; aggregateArrays?: boolean } = {},
): Promise<void> {
  if (rows.length === 0) return
  const settings = {
    insert_deduplication_token: options.deduplicationToken ?? '',
    insert_deduplicate: 1,
    // A block the target drops as a duplicate is still pushed to its materialized views;
    // this makes each view's target drop it too (they keep their own dedup window).
    deduplicate_blocks_in_dependent_materialized_views: 1,
    async_insert: 0,
    // Distinct-count measures arrive as arrays of ids; ClickHouse builds the uniq states.
    aggregate_function_input_format: options.aggregateArrays ? 'array' : 'state',
  } as const
  try {
    if (ch.rawInsert) {
      // Embedded: one buffer, settings in the INSERT's own SETTINGS clause (query-scoped).
      await ch.rawInsert({ table, values: jsonEachRow(rows), format: 'JSONEachRow', settings })
    } else {
      await ch.client.insert({ table, values: rows as Record<string, unknown>[], format: 'JSONEachRow', clickhouse_settings: settings })
    }
  } catch (err) {
    throw new SinkError(SinkErrorCode.INSERT, `insert into ${table} failed: ${(err as Error).message}`, {
      retryable: isRetryableClickHouseError(err),
      cause: err,
      context: { table, rows: rows.length, token: options.deduplicationToken },
    })
  }
}

/** Rows as JSONEachRow bytes (one JSON object per line). */
export function jsonEachRow(rows: readonly Record<string, unknown>[]): Buffer {
  let text = ''
  for (const row of rows) text += JSON.stringify(row) + '\n'
  return Buffer.from(text)
}

// ClickHouse error types that say the data or the schema is wrong: a retry cannot help.
const PERMANENT = /^(CANNOT_PARSE|CANNOT_READ|TYPE_MISMATCH|UNKNOWN_TABLE|UNKNOWN_DATABASE|UNKNOWN_IDENTIFIER|NO_SUCH_COLUMN|ILLEGAL_|INCORRECT_DATA|SYNTAX_ERROR|UNKNOWN_SETTING|NOT_IMPLEMENTED|READONLY|ACCESS_DENIED|AUTHENTICATION_FAILED|INCORRECT_NUMBER_OF_COLUMNS|THERE_IS_NO_COLUMN|DUPLICATE_COLUMN|SIZES_OF_ARRAYS_DONT_MATCH|VALUE_IS_OUT_OF_RANGE)/

/** Network failures, timeouts and overload are retryable; errors about the data or schema are not. */
export function isRetryableClickHouseError(err: unknown): boolean {
  const type = (err as { type?: unknown }).type
  if (typeof type === 'string' && PERMANENT.test(type)) return false
  return true
}

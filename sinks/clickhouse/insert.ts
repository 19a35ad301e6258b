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
  options: { deduplicationToken?: string } = {},
): Promise<void> {
  if (rows.length === 0) return
  try {
    await ch.client.insert({
      table,
      values: rows as Record<string, unknown>[],
      format: 'JSONEachRow',
      clickhouse_settings: {
        insert_deduplication_token: options.deduplicationToken ?? '',
        insert_deduplicate: 1,
        async_insert: 0,
      },
    })
  } catch (err) {
    throw new SinkError(SinkErrorCode.INSERT, `insert into ${table} failed: ${(err as Error).message}`, {
      retryable: true,
      cause: err,
      context: { table, rows: rows.length, token: options.deduplicationToken },
    })
  }
}

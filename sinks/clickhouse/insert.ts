import { isRetryableClickHouseError } from './classify.js'
import { Readable } from 'node:stream'
import type { ClickHouse } from './connection.js'
import { SinkError, SinkErrorCode } from '../errors.js'

export interface InsertOptions {
  /** The block's deduplication token; an insert without one explicitly sends the empty token. */
  readonly deduplicationToken?: string
  /**
   * The rows are partial aggregates (the flush protocol's cube rows, a rebuild's): distinct-count
   * measures arrive as arrays of ids from which ClickHouse builds the uniq states, and the engine
   * does not collapse the block's rows on insert (`optimize_on_insert = 0`). Collapsing a block
   * whose keys are already unique (the cube buffers aggregate per key) is a sort-and-merge pass
   * for nothing; where keys do repeat, background merges collapse them as they collapse the rows
   * of different inserts, which every reader already aggregates over (a minute's rows arrive in
   * many flushes). bench/inserts.ts measures the difference.
   */
  readonly partialAggregates?: boolean
}

/**
 * Inserts rows with the settings an exactly-once sink needs, set on EVERY insert: on the embedded
 * engine settings are session state and a token left over from the previous insert would make
 * ClickHouse drop the next, different batch as a duplicate. So a batch without a token explicitly
 * sends the empty token. Synchronous inserts: the data is in the table when the promise resolves,
 * which is what makes committing offsets afterwards safe.
 *
 * Rows of one shape (the same keys, as every buffer's rows are) travel as JSONCompactEachRow with
 * the column list: the engine parses positions instead of matching keys (a third less of its
 * time on the raw fact tables, bench/inserts.ts). Rows of mixed shapes go as JSONEachRow.
 */
export async function insertRows(ch: ClickHouse, table: string, rows: readonly Record<string, unknown>[], options: InsertOptions = {}): Promise<void> {
  if (rows.length === 0) return
  // Embedded: our bytes, in one buffer. On a server the client serialises the rows itself.
  if (ch.rawInsert) return insertEncoded(ch, table, encodeRows(rows), options)
  const columns = sharedColumns(rows) as [string, ...string[]] | null
  await wrapInsertError(table, rows.length, options, () =>
    columns
      ? ch.client.insert({ table, columns, values: rows.map((r) => Object.values(r).map((v) => v ?? null)), format: 'JSONCompactEachRow', clickhouse_settings: sinkSettings(options) })
      : ch.client.insert({ table, values: rows as Record<string, unknown>[], format: 'JSONEachRow', clickhouse_settings: sinkSettings(options) }),
  )
}

/**
 * Inserts rows already serialised as JSONCompactEachRow bytes (the engine's stream blocks: rows'
 * value arrays in the order of `columns`, separated by commas, which the format accepts between
 * rows), with the sink's settings (see insertRows). The bytes go to the engine as they are: no
 * object per row, no key walk, no copy on the embedded engine.
 */
export async function insertText(ch: ClickHouse, table: string, columns: readonly string[], payload: Buffer, rows: number, options: InsertOptions = {}): Promise<void> {
  if (rows === 0) return
  if (ch.rawInsert) return insertEncoded(ch, table, { format: 'JSONCompactEachRow', columns, values: payload, rows }, options)
  await wrapInsertError(table, rows, options, () =>
    ch.client.insert({ table, columns: columns as [string, ...string[]], values: Readable.from([payload]), format: 'JSONCompactEachRow', clickhouse_settings: sinkSettings(options) }),
  )
}

/** Value arrays in the order of `columns` as JSONCompactEachRow (see insertText). */
export async function insertValues(ch: ClickHouse, table: string, columns: readonly string[], values: readonly (readonly unknown[])[], options: InsertOptions = {}): Promise<void> {
  await insertText(ch, table, columns, Buffer.from(JSON.stringify(values).slice(1, -1)), values.length, options)
}

/** A batch of rows as insert bytes: JSONCompactEachRow with its columns when they share one shape, else JSONEachRow. */
export interface EncodedRows {
  readonly format: 'JSONEachRow' | 'JSONCompactEachRow'
  readonly columns: readonly string[] | null
  readonly values: Buffer
  readonly rows: number
}

/** Encodes rows for insertEncoded (pure: it may run in a worker thread, which then hands over the bytes). */
export function encodeRows(rows: readonly Record<string, unknown>[]): EncodedRows {
  const columns = rows.length > 0 ? sharedColumns(rows) : null
  return columns
    ? { format: 'JSONCompactEachRow', columns, values: jsonCompactEachRow(rows), rows: rows.length }
    : { format: 'JSONEachRow', columns: null, values: jsonEachRow(rows), rows: rows.length }
}

/**
 * Inserts encoded rows into the embedded engine with the sink's settings (see insertRows); the
 * settings travel in the INSERT's own SETTINGS clause (query-scoped). A server's client takes
 * rows, not our bytes: use insertRows there.
 */
export async function insertEncoded(ch: ClickHouse, table: string, encoded: EncodedRows, options: InsertOptions = {}): Promise<void> {
  if (encoded.rows === 0) return
  const raw = ch.rawInsert
  if (!raw) throw new SinkError(SinkErrorCode.INSERT, `insert into ${table}: encoded bytes are only accepted by the embedded engine; use insertRows on a server`, { retryable: false, context: { table } })
  // The parser in one thread. Below ClickHouse's min_chunk_bytes_for_parallel_parsing (10 MiB) a
  // payload is one chunk anyway, and above it the worker's inserts already run beside its own
  // decoding and each other (SINK_CONNECTIONS), so the parallel parser's threads only added
  // hand-offs: −3 to −8 % of the worker's CPU, peak RSS equal or up to 30 MB lower (bench/README.md).
  const settings = { ...sinkSettings(options), input_format_parallel_parsing: 0 } as const
  await wrapInsertError(table, encoded.rows, options, () => raw({ table, columns: encoded.columns ?? undefined, values: encoded.values, format: encoded.format, settings }))
}

/** The settings every sink insert sets (never left to the session). */
function sinkSettings(options: InsertOptions) {
  return {
    insert_deduplication_token: options.deduplicationToken ?? '',
    insert_deduplicate: 1,
    // A block the target drops as a duplicate is still pushed to its materialized views;
    // this makes each view's target drop it too (they keep their own dedup window).
    deduplicate_blocks_in_dependent_materialized_views: 1,
    async_insert: 0,
    // Distinct-count measures arrive as arrays of ids; ClickHouse builds the uniq states.
    aggregate_function_input_format: options.partialAggregates ? 'array' : 'state',
    optimize_on_insert: options.partialAggregates ? 0 : 1,
  } as const
}

/** Runs an insert, turning its failure into a SinkError that says whether a retry can help. */
async function wrapInsertError(table: string, rows: number, options: InsertOptions, insert: () => Promise<unknown>): Promise<void> {
  try {
    await insert()
  } catch (err) {
    throw new SinkError(SinkErrorCode.INSERT, `insert into ${table} failed: ${(err as Error).message}`, {
      retryable: isRetryableClickHouseError(err),
      cause: err,
      context: { table, rows, token: options.deduplicationToken },
    })
  }
}

/**
 * The column list when every row has exactly the first row's keys in the same order (rows built
 * by one initialiser, as every buffer's are), else null. A key whose value is undefined is present
 * (it is sent as null: the column's default, as JSONEachRow's omitted key is).
 */
export function sharedColumns(rows: readonly Record<string, unknown>[]): string[] | null {
  const columns = Object.keys(rows[0] as Record<string, unknown>)
  if (columns.length === 0) return null
  for (let i = 1; i < rows.length; i++) {
    let n = 0
    // Plain objects: for-in walks the own keys in the order Object.values returns their values
    // (an inherited enumerable key would differ from the column and make the batch mixed).
    for (const key in rows[i]) if (key !== columns[n++]) return null
    if (n !== columns.length) return null
  }
  return columns
}

/**
 * Rows as JSONCompactEachRow bytes: one JSON array per row, values in the order of the keys,
 * which sharedColumns has checked to be the columns'. The rows are separated by commas, which the
 * format accepts between rows as it accepts newlines: the whole batch is then one call of V8's
 * native serialiser (an array of the rows' value arrays, its outer brackets cut off), about 30%
 * less time than a call and a string concatenation per row (bench/inserts.ts).
 */
export function jsonCompactEachRow(rows: readonly Record<string, unknown>[]): Buffer {
  const text = JSON.stringify(rows.map(Object.values))
  return Buffer.from(text.slice(1, -1))
}

/** The previous JSONCompactEachRow builder (a call and a concatenation per row): bench/inserts.ts's baseline. */
export function jsonCompactEachRowPerRow(rows: readonly Record<string, unknown>[]): Buffer {
  let text = ''
  for (const row of rows) text += JSON.stringify(Object.values(row)) + '\n'
  return Buffer.from(text)
}

/** Rows as JSONEachRow bytes (one JSON object per line). */
export function jsonEachRow(rows: readonly Record<string, unknown>[]): Buffer {
  let text = ''
  for (const row of rows) text += JSON.stringify(row) + '\n'
  return Buffer.from(text)
}


import type { ClickHouse } from './connection.js'

/**
 * The rows of a parameterized query as objects. 64-bit integers come back as JSON numbers (the
 * engine's default quotes them on a server and not on chDB; here both agree): for counts and sums,
 * not for ids beyond 2^53. The setting goes with the statement, as every setting must on the
 * embedded engine, where it would otherwise stay on the session.
 */
export async function queryRows<T>(ch: ClickHouse, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await ch.client.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })
  return rs.json<T>()
}

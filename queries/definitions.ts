import { insertRows, type ClickHouse } from '../sinks/index.js'

/*
 * Versioned definitions in ClickHouse (alert rules, campaigns): one row per version of an id, the
 * latest wins, a delete is a version with deleted = 1; shared by every API and evaluator instance.
 * The tables have the same columns: <id column>, version, deleted, definition, updated_at, updated_by.
 */

let lastVersion = 0
/**
 * Strictly increasing within the process, close to wall-clock milliseconds across processes: two
 * writes of one id in the same millisecond must not tie (a ReplacingMergeTree or argMax would keep
 * either).
 */
export const nextVersion = (): number => (lastVersion = Math.max(lastVersion + 1, Date.now()))

export interface DefinitionTable {
  readonly table: string
  readonly idColumn: string
}

/** The latest definition of every id that is not deleted, parsed JSON, ordered by id. */
export async function listDefinitions(ch: ClickHouse, t: DefinitionTable): Promise<unknown[]> {
  const rs = await ch.client.query({
    query: `SELECT argMax(definition, version) AS d FROM {table:Identifier} GROUP BY {id:Identifier} HAVING argMax(deleted, version) = 0 ORDER BY {id:Identifier}`,
    query_params: { table: t.table, id: t.idColumn },
    format: 'JSONEachRow',
  })
  return (await rs.json<{ d: string }>()).map((r) => JSON.parse(r.d) as unknown)
}

/** Writes a new version of `id`. */
export async function putDefinition(ch: ClickHouse, t: DefinitionTable, id: string, definition: unknown, by: string): Promise<void> {
  await insertRows(ch, t.table, [{ [t.idColumn]: id, version: nextVersion(), deleted: 0, definition: JSON.stringify(definition), updated_at: Date.now(), updated_by: by }])
}

/** Writes a deleting version of `id`. */
export async function deleteDefinition(ch: ClickHouse, t: DefinitionTable, id: string, by: string): Promise<void> {
  await insertRows(ch, t.table, [{ [t.idColumn]: id, version: nextVersion(), deleted: 1, definition: '{}', updated_at: Date.now(), updated_by: by }])
}

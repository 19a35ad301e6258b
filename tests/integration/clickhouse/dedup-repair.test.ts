import { readdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repairDeduplicationLogs, type ClickHouse } from '../../../sinks/index.js'
import { openTestClickHouse } from '../../services/clickhouse.js'

// The embedded engine writes a block's deduplication record before it commits the block's part;
// a process killed between the two left the block's replay dropped as a duplicate, its rows lost
// (the crash test met it once). The repair forgets such records when the engine opens.
describe('deduplication logs after a crash between record and part', () => {
  let ch: ClickHouse & { drop(): Promise<void> }
  beforeAll(async () => {
    ch = await openTestClickHouse('dedup')
  })
  afterAll(async () => ch.drop())

  const command = (query: string) => ch.client.command({ query })
  const count = async (table: string) => Number((await (await ch.client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })).json<{ n: string }>())[0]?.n)
  const insert = (value: number, token: string) => ch.rawInsert!({ table: 't', values: Buffer.from(`[${value}]`), format: 'JSONCompactEachRow', settings: { insert_deduplication_token: token, insert_deduplicate: 1, deduplicate_blocks_in_dependent_materialized_views: 1 } })

  it('a replayed block whose first insert never became a part lands after the repair, and only that one', async () => {
    if (ch.kind !== 'embedded') {
      // A server runs the inserts: a worker's crash cannot land in the server's write; nothing to repair here.
      expect(await repairDeduplicationLogs(ch)).toEqual([])
      return
    }
    await command('CREATE TABLE t (a UInt32) ENGINE = MergeTree ORDER BY a SETTINGS non_replicated_deduplication_window = 100')
    await command('CREATE TABLE t_rollup (a UInt32) ENGINE = MergeTree ORDER BY a SETTINGS non_replicated_deduplication_window = 100')
    await command('CREATE MATERIALIZED VIEW t_mv TO t_rollup AS SELECT a FROM t')
    await command('SYSTEM STOP MERGES t')
    await insert(1, 'committed')
    await insert(2, 'lost')
    expect(await count('t')).toBe(2)

    // What SIGKILL between the record and the part leaves: the record, and a temporary part that
    // the engine removes when it loads the table.
    const rows = await (await ch.client.query({ query: "SELECT data_paths FROM system.tables WHERE database = currentDatabase() AND name = 't'", format: 'JSONEachRow' })).json<{ data_paths: string[] }>()
    const dir = rows[0]?.data_paths[0]
    await command('DETACH TABLE t')
    const part = readdirSync(dir as string).filter((p) => /^all_\d+_\d+_\d+$/.test(p)).sort((a, b) => Number(a.split('_')[1]) - Number(b.split('_')[1])).at(-1) as string
    renameSync(join(dir as string, part), join(dir as string, `tmp_insert_${part}`))
    await command('ATTACH TABLE t')
    await command('SYSTEM STOP MERGES t')
    expect(await count('t')).toBe(1)
    // The hole: the replay under the same token is dropped as a duplicate.
    await insert(2, 'lost')
    expect(await count('t'), 'without the repair the replay is dropped').toBe(1)

    expect(await repairDeduplicationLogs(ch)).toEqual([{ table: 't', parts: [part] }])
    await insert(2, 'lost')
    await insert(2, 'lost')
    await insert(1, 'committed')
    expect(await count('t'), 'the lost block lands once; the committed one stays deduplicated').toBe(2)
    expect(await count('t_rollup'), 'the rollup had the lost block already (its own part was committed): it stays once').toBe(2)
    expect(await repairDeduplicationLogs(ch), 'nothing left to repair').toEqual([])
  })
})

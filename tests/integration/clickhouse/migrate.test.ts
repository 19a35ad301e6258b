import { afterEach, describe, expect, it } from 'vitest'
import { appliedMigrations, loadMigrations, migrate, type Migration } from '../../../sinks/index.js'
import { openTestClickHouse } from '../../services/clickhouse.js'

describe('streamcube migrate against the real ClickHouse engine', () => {
  const open: { drop(): Promise<void> }[] = []
  afterEach(async () => {
    for (const ch of open.splice(0)) await ch.drop()
  })

  it('applies every migration, records the versions, and a second run applies nothing', async () => {
    const ch = await openTestClickHouse('mig')
    open.push(ch)
    const all = loadMigrations()
    const first = await migrate(ch)
    expect(first.applied.map((m) => m.version)).toEqual(all.map((m) => m.version))
    const second = await migrate(ch)
    expect(second.applied).toEqual([])
    expect(second.skipped).toHaveLength(all.length)
    const recorded = await appliedMigrations(ch)
    expect([...recorded.keys()]).toEqual(all.map((m) => m.version))
    const rs = await ch.client.query({ query: 'SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name', format: 'JSONEachRow' })
    const tables = (await rs.json<{ name: string }>()).map((r) => r.name)
    expect(tables).toEqual(expect.arrayContaining(['behaviour_events', 'order_events', 'inventory_events', 'streamcube_migrations']))
  })

  it('refuses to continue when an applied migration was edited', async () => {
    const ch = await openTestClickHouse('mig')
    open.push(ch)
    const base: Migration = { version: 1, name: 'x', sql: 'CREATE TABLE IF NOT EXISTS x (a UInt8) ENGINE = {{MergeTree}} ORDER BY a', checksum: 'aaaa' }
    await migrate(ch, { migrations: [base] })
    await expect(migrate(ch, { migrations: [{ ...base, checksum: 'bbbb' }] })).rejects.toMatchObject({ code: 'SINK_MIGRATION_CHANGED' })
  })

  it('a failing statement names the migration, and the version stays unrecorded so the next run retries it', async () => {
    const ch = await openTestClickHouse('mig')
    open.push(ch)
    const bad: Migration = { version: 7, name: 'broken', sql: 'CREATE TABLE IF NOT EXISTS y (a UInt8) ENGINE = {{MergeTree}} ORDER BY nope', checksum: 'cccc' }
    await expect(migrate(ch, { migrations: [bad] })).rejects.toMatchObject({ code: 'SINK_MIGRATION_FAILED', message: expect.stringContaining('7_broken') })
    expect((await appliedMigrations(ch)).has(7)).toBe(false)
  })
})

import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ACTIVITY_CUBE, addedMeasuresMigration, CUBES, cubeMigration, cubeTable, GMV_CUBE, measureList, measureSql, PIPELINES, PRODUCTS_CUBE } from '../../../pipelines/index.js'
import { REBUILDABLE } from '../../../jobs/index.js'

const MIGRATIONS = new URL('../../../sql/migrations/', import.meta.url)
const migration = (version: number) => {
  const file = readdirSync(MIGRATIONS).find((f) => f.startsWith(`${String(version).padStart(4, '0')}_`))
  if (!file) throw new Error(`no migration ${version}`)
  return readFileSync(new URL(file, MIGRATIONS), 'utf8')
}
const applied = migration(2)

describe('cube declarations', () => {
  it.each(CUBES.map((c) => [c.name, c] as const))('%s: the declaration is the DDL the migration applied, verbatim', (_name, cube) => {
    expect(applied).toContain(cubeMigration(cube))
  })

  it.each(CUBES.flatMap((c) => [...new Set(c.measures.flatMap(([, , since]) => (since === undefined ? [] : [since])))].map((v) => [c.name, v, c] as const)))(
    '%s: the measures added by migration %i are its ADD COLUMNs and rollup views, verbatim',
    (_name, version, cube) => {
      const added = cube.measures.filter(([, , since]) => since === version).map(([m]) => m)
      expect(migration(version)).toContain(addedMeasuresMigration(cube, added))
    },
  )

  it('the products cube counts distinct orders and carries their states (issue 21)', () => {
    expect(measureSql(PRODUCTS_CUBE, 'order_ids')).toBe('uniqMerge(order_ids)')
    expect(migration(9)).toContain('uniqExact(order_id) AS orders, uniqState(order_id) AS order_ids')
  })

  it('every cube table of the migration is declared', () => {
    const minutes = [...applied.matchAll(/CREATE TABLE IF NOT EXISTS \{\{LOCAL (\w+)_minute\}\}/g)].map((m) => m[1])
    expect(minutes.sort()).toEqual(CUBES.map((c) => c.name).sort())
  })

  it('a changed declaration no longer matches (the check can fail)', () => {
    const changed = { ...GMV_CUBE, ttlDays: { ...GMV_CUBE.ttlDays, hour: 401 } }
    expect(applied).not.toContain(cubeMigration(changed))
  })

  it('measures read with the function of their kind', () => {
    expect(measureSql(GMV_CUBE, 'gmv_cents')).toBe('sum(gmv_cents)')
    expect(measureSql(GMV_CUBE, 'orders')).toBe('uniqMerge(orders)')
    expect(() => measureSql(GMV_CUBE, 'nope')).toThrow(/no measure nope/)
    expect(measureSql(GMV_CUBE, 'orders', 'cur')).toBe('uniqMergeIf(orders, cur)')
    expect(measureList(ACTIVITY_CUBE)).toBe('sum(events) AS events, uniqMerge(users) AS users')
    expect(measureList(ACTIVITY_CUBE, ['users'], { prefix: 'p_', condition: 'NOT cur' })).toBe('uniqMergeIf(users, NOT cur) AS p_users')
  })

  it('an exact read of a distinct count takes the sum the cube keeps for it, and only where it keeps one', () => {
    expect(measureSql(GMV_CUBE, 'orders', undefined, true)).toBe('sum(paid_orders)')
    expect(measureList(GMV_CUBE, ['orders', 'paying_users'], { prefix: 'c_', condition: 'cur', exact: true })).toBe('sumIf(paid_orders, cur) AS c_orders, uniqMergeIf(paying_users, cur) AS c_paying_users')
    expect(measureSql(ACTIVITY_CUBE, 'users', undefined, true)).toBe('uniqMerge(users)')
    expect(GMV_CUBE.exactCounts?.orders).toEqual({ sum: 'paid_orders', splitBy: 'category_id' })
    expect(migration(13)).toContain("sumIf(toUInt64(line_no = 1), status = 'paid') AS paid_orders")
  })

  it('rebuild knows every cube, and each cube is filled by exactly one pipeline', () => {
    expect(REBUILDABLE.map((r) => r.name).sort()).toEqual(CUBES.map((c) => c.name).sort())
    for (const cube of CUBES) expect(PIPELINES.filter((p) => p.tables.includes(cubeTable(cube, 'minute'))).map((p) => p.name), cube.name).toHaveLength(1)
  })
})

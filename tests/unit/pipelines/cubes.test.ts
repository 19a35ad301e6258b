import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ACTIVITY_CUBE, CUBES, cubeMigration, cubeTable, GMV_CUBE, measureList, measureSql, PIPELINES } from '../../../pipelines/index.js'
import { REBUILDABLE } from '../../../jobs/index.js'

const applied = readFileSync(new URL('../../../sql/migrations/0002_cubes.sql', import.meta.url), 'utf8')

describe('cube declarations', () => {
  it.each(CUBES.map((c) => [c.name, c] as const))('%s: the declaration is the DDL the migration applied, verbatim', (_name, cube) => {
    expect(applied).toContain(cubeMigration(cube))
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

  it('rebuild knows every cube, and each cube is filled by exactly one pipeline', () => {
    expect(REBUILDABLE.map((r) => r.name).sort()).toEqual(CUBES.map((c) => c.name).sort())
    for (const cube of CUBES) expect(PIPELINES.filter((p) => p.tables.includes(cubeTable(cube, 'minute'))).map((p) => p.name), cube.name).toHaveLength(1)
  })
})

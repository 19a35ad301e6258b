import { describe, expect, it } from 'vitest'
import { loadMigrations, onClusterClause, renderStatements, viewsModifiedBy } from '../../../sinks/index.js'

describe('migrations', () => {
  const migrations = loadMigrations()

  it('are numbered, ordered and unique', () => {
    expect(migrations.length).toBeGreaterThan(0)
    const versions = migrations.map((m) => m.version)
    expect(versions).toEqual([...versions].sort((a, b) => a - b))
    expect(new Set(versions).size).toBe(versions.length)
  })

  it('render a single-node variant with plain MergeTree engines and no ON CLUSTER', () => {
    for (const m of migrations) {
      const sql = renderStatements(m.sql, { cluster: null }).join('\n')
      expect(sql).not.toMatch(/\{\{|ON CLUSTER|Replicated/)
      // Tables keep data in the MergeTree family; the stream tables (0008) are Null: views read their blocks.
      if (/CREATE TABLE/.test(sql)) expect(sql).toMatch(/ENGINE = (\w*MergeTree|Null)/)
    }
  })

  it('render a cluster variant with Replicated engines and ON CLUSTER on every CREATE', () => {
    for (const m of migrations) {
      const statements = renderStatements(m.sql, { cluster: 'analytics' })
      for (const s of statements.filter((x) => /^CREATE (TABLE|MATERIALIZED VIEW)/.test(x))) {
        expect(s).toContain("ON CLUSTER 'analytics'")
        if (/^CREATE TABLE/.test(s)) expect(s).toMatch(/ENGINE = (Replicated\w*MergeTree|Null|Distributed\('analytics', currentDatabase\(\), \w+_local, cityHash64\(\w+\)\))/)
      }
      // A column added to or changed in a shard-local table is added or changed in its Distributed
      // table too, unless that table is created after the ALTER (then it takes the local table's columns).
      const flat = statements.map((x) => x.replace(/\s+/g, ' '))
      flat.forEach((s, i) => {
        const altered = /^ALTER TABLE (\w+)_local ON CLUSTER 'analytics' ((ADD|MODIFY) COLUMN .+)$/.exec(s)
        if (!altered || flat.slice(i).some((x) => x.startsWith(`CREATE TABLE IF NOT EXISTS ${altered[1]} ON CLUSTER`))) return
        expect(flat).toContain(`ALTER TABLE ${altered[1]} ON CLUSTER 'analytics' ${altered[2]}`)
      })
      // Every shard-local table has a Distributed table over it.
      const locals = statements.map((x) => /^CREATE TABLE IF NOT EXISTS (\w+)_local /.exec(x)?.[1]).filter(Boolean)
      for (const name of locals) expect(statements.some((x) => x.startsWith(`CREATE TABLE IF NOT EXISTS ${name} ON CLUSTER`) && x.includes('ENGINE = Distributed'))).toBe(true)
    }
  })

  it('every CREATE is re-runnable (IF NOT EXISTS)', () => {
    for (const m of migrations) for (const s of renderStatements(m.sql, { cluster: null })) if (/^CREATE/.test(s)) expect(s).toMatch(/IF NOT EXISTS/)
  })

  it('quote the cluster name in ON CLUSTER (migrations and rebuild share the clause)', () => {
    expect(onClusterClause(null)).toBe('')
    expect(onClusterClause('prod')).toBe(" ON CLUSTER 'prod'")
    expect(onClusterClause("it's\\x")).toBe(" ON CLUSTER 'it\\'s\\\\x'")
  })

  it('refuses unknown template tokens', () => {
    expect(() => renderStatements('CREATE TABLE x ENGINE = {{Nope}}', { cluster: null })).toThrow(/unknown template token/)
  })

  it('name the views they change in place (MODIFY QUERY), which a migrating process reloads', () => {
    expect(viewsModifiedBy(migrations, { cluster: null }).sort()).toEqual(['gmv_day_mv', 'gmv_hour_mv', 'gmv_minute_from_stream', 'products_day_mv', 'products_hour_mv', 'products_minute_from_stream'])
    expect(viewsModifiedBy(migrations.filter((m) => m.version < 9), { cluster: null })).toEqual([])
  })
})

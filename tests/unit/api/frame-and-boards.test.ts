import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { boardFor, PANELS } from '../../../api/boards.js'
import type { AccessMap, RouteAccess } from '../../../api/access.js'
import { loadGeoFrame } from '../../../api/reports/geo.js'
import { ANONYMOUS_ANALYST, type Principal } from '../../../api/auth.js'
import { EXAMPLE_RULES_FILE } from '../../../cli/commands/demo.js'
import { cityFrame, EventGenerator, HANGZHOU } from '../../../generator/index.js'
import { readRuleFile } from '../../../queries/index.js'

describe('the generated city as a map frame', () => {
  const world = new EventGenerator({ seed: 3, start: 0, communities: 60 }).world
  it('has 16 districts tiling the city, each community inside the district its name starts with', () => {
    expect(world.districts).toHaveLength(16)
    const area = world.districts.reduce((a, d) => a + (d.bbox.maxLat - d.bbox.minLat) * (d.bbox.maxLon - d.bbox.minLon), 0)
    expect(area).toBeCloseTo((HANGZHOU.maxLat - HANGZHOU.minLat) * (HANGZHOU.maxLon - HANGZHOU.minLon), 10)
    expect(new Set(world.communities.map((c) => c.name)).size).toBe(world.communities.length)
    for (const c of world.communities) {
      const d = world.districts.find((x) => x.name === c.district)
      expect(c.name.startsWith(`${c.district} `), c.name).toBe(true)
      expect(c.lat >= (d?.bbox.minLat ?? 99) && c.lat <= (d?.bbox.maxLat ?? -99) && c.lon >= (d?.bbox.minLon ?? 999) && c.lon <= (d?.bbox.maxLon ?? -999), c.communityId).toBe(true)
    }
  })

  it('round-trips through a GeoJSON file the API reads; a bad file stops start-up naming the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'frame-'))
    const file = join(dir, 'city.geojson')
    writeFileSync(file, JSON.stringify(cityFrame(world)))
    const frame = loadGeoFrame(file)
    expect(frame.districts.map((d) => d.name)).toEqual(world.districts.map((d) => d.name))
    expect(frame.districts.every((d) => d.outline.length === 5 && d.outline[0]?.[0] === d.outline[4]?.[0])).toBe(true)
    expect(frame.points.map((p) => p.community_id)).toEqual(world.communities.map((c) => c.communityId))
    expect(frame.points[0]).toMatchObject({ name: world.communities[0]?.name, source: 'file' })
    const bad = join(dir, 'bad.geojson')
    writeFileSync(bad, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [120.1, 95] }, properties: { community_id: 'c-1' } }] }))
    expect(() => loadGeoFrame(bad)).toThrow(/API_GEO_FRAME_FILE \(.*bad.geojson\) at features.0.geometry.coordinates.1/)
    writeFileSync(bad, '{')
    expect(() => loadGeoFrame(bad)).toThrow(/cannot be read as JSON/)
  })
})

describe('boards', () => {
  const access = (roles: RouteAccess['roles']): RouteAccess => ({ reads: 'x', roles })
  const everything: AccessMap = new Map(PANELS.flatMap((p) => p.reads).map((r) => [r, access(undefined)]))
  it('a panel is on a board only when the role may call every route it reads', () => {
    const supplier: Principal = { name: 's', role: 'supplier', communities: null, skus: ['a'], leaders: null }
    expect(boardFor(supplier, everything).panels.map((p) => p.id)).toEqual(['products', 'stock', 'expiry', 'restock'])
    const noExpiry = new Map(everything)
    noExpiry.set('GET /v1/expiry', access(['admin']))
    expect(boardFor(supplier, noExpiry).panels.map((p) => p.id)).toEqual(['products', 'restock'])
    // A route the API does not have takes its panel off every board.
    const noAlerts = new Map(everything)
    noAlerts.delete('GET /v1/alerts')
    expect(boardFor(ANONYMOUS_ANALYST, noAlerts).panels.map((p) => p.id)).not.toContain('alerts')
  })
})

describe('the example alert rules npm start loads', () => {
  it('parse, and hold a static threshold, a dynamic baseline and data-quality rules, all with the log notifier', () => {
    const rules = readRuleFile(EXAMPLE_RULES_FILE)
    expect(rules.some((r) => r.condition.type === 'static' && (r.metric === 'orders' || r.metric === 'gmv_cents') && r.groupBy === null)).toBe(true)
    expect(rules.some((r) => r.condition.type === 'dynamic')).toBe(true)
    expect(rules.some((r) => r.metric === 'freshness_seconds' || r.metric === 'dead_letter_rate')).toBe(true)
    for (const r of rules) expect(r.notify.map((n) => n.type), r.id).toEqual(['log'])
  })
})

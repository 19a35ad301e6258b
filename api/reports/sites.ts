import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { validTimeZone } from '../../schemas/index.js'
import { getReport } from './context.js'
import { SitesResponse } from './responses.js'
import { TimeRange, bound, localHourGrain, resolveRange } from './params.js'
import { DAYPARTS, PRICE_BANDS } from './profile.js'
import { COMMUNITY_SCOPE, RANGE, num } from './query.js'
import { ACTIVITY_CUBE, GMV_CUBE, HEATMAP_CUBE, PRODUCTS_CUBE, cubeRange, measureSql } from '../../queries/index.js'

/*
 * Site selection (issue 6): where to hold a pop-up event or open a store for a target (a category,
 * a price band, a time of day). Each community is scored on three things, each scaled to the best
 * community (1.0) and averaged: active users in the target daypart (local time); GMV density —
 * GMV of the target category per geohash cell (≈ 1.2 km) with orders; and affinity — the target
 * category's share of the community's GMV times the price band's share of its units.
 */

const SitesQuery = z
  .object({
    ...TimeRange.shape,
    category: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'a category id').optional(),
    priceBand: z.enum(PRICE_BANDS.map((b) => b.band) as [string, ...string[]]).optional(),
    daypart: z.enum(DAYPARTS.map((d) => d.part) as [string, ...string[]]).optional(),
    tz: z.string().refine(validTimeZone, 'not an IANA time zone (e.g. Asia/Shanghai)').optional(),
    limit: z.coerce.number().int().min(1, 'must be 1-1000').max(1000, 'must be 1-1000').default(20),
  })
  .transform((q, ctx) => ({ ...q, ...resolveRange(q, Date.now(), ctx, 28 * 86_400_000) }))

const USERS = `
  SELECT community_id, ${measureSql(ACTIVITY_CUBE, 'users')} AS users FROM {table:Identifier}
  WHERE ${RANGE} AND ${COMMUNITY_SCOPE} AND toHour(window_start, {tz:String}) >= {h_from:UInt8} AND toHour(window_start, {tz:String}) < {h_to:UInt8}
  GROUP BY community_id`

const GMV = `
  SELECT community_id, ${measureSql(GMV_CUBE, 'gmv_cents', 'empty({category:String}) OR category_id = {category:String}')} AS target, ${measureSql(GMV_CUBE, 'gmv_cents')} AS total
  FROM {table:Identifier} WHERE ${RANGE} AND ${COMMUNITY_SCOPE} GROUP BY community_id`

const CELLS = `
  SELECT community_id, uniqExactIf(cell, orders > 0) AS cells FROM (
    SELECT community_id, cell, ${measureSql(HEATMAP_CUBE, 'orders')} AS orders FROM {table:Identifier}
    WHERE precision = 6 AND ${RANGE} AND ${COMMUNITY_SCOPE} GROUP BY community_id, cell)
  GROUP BY community_id`

const BANDS = `
  SELECT community_id, sumIf(q, price >= {lo:UInt64} AND price < {hi:UInt64}) AS in_band, sum(q) AS all
  FROM (SELECT community_id, sku, ${measureSql(PRODUCTS_CUBE, 'qty')} AS q, ${measureSql(PRODUCTS_CUBE, 'gmv_cents')} / greatest(${measureSql(PRODUCTS_CUBE, 'qty')}, 1) AS price
        FROM {table:Identifier} WHERE ${RANGE} AND ${COMMUNITY_SCOPE} GROUP BY community_id, sku)
  GROUP BY community_id`

export const siteRoutes: FastifyPluginAsync = async (app) => {
  getReport(app, '/v1/sites/rank', { access: { roles: ['admin', 'analyst'], reads: 'site selection (it compares every community)' }, response: SitesResponse, tags: ['analytics'], summary: 'Site selection: communities ranked for a target category, price band and time of day by active users, GMV density and affinity', querystring: SitesQuery }, ({ query: q, scope }, ctx) => {
    const part = DAYPARTS.find((d) => d.part === q.daypart) ?? { part: 'all day', from: 0, to: 24 }
    const bandIndex = PRICE_BANDS.findIndex((b) => b.band === q.priceBand)
    const lo = bandIndex > 0 ? (PRICE_BANDS[bandIndex - 1] as { max: number }).max : 0
    const hi = bandIndex >= 0 ? (PRICE_BANDS[bandIndex] as { max: number }).max : Number.MAX_SAFE_INTEGER
    const tz = q.tz ?? ctx.config.api.timezone
    const byLocalHour = localHourGrain(tz, q.from, q.to, ctx.now())
    return { covers: q, compute: async () => {
      // Active users and cells over weeks read the rollups in pieces: 59–79 against 79–110 ms and
      // 16 against 34–56 ms over 28 days (bench/README.md); GMV and price bands gain nothing.
      const base = { ...scope, from: bound(q.from), to: bound(q.to), tz, h_from: part.from, h_to: part.to, category: q.category ?? '', lo, hi }
      const [users, gmv, cells, bands] = await Promise.all([
        ctx.queries.rows<{ community_id: string; users: number }>(USERS, { ...base, table: cubeRange(ACTIVITY_CUBE, q.from, q.to, byLocalHour, { compose: true }) }),
        ctx.queries.rows<{ community_id: string; target: number; total: number }>(GMV, { ...base, table: cubeRange(GMV_CUBE, q.from, q.to) }),
        ctx.queries.rows<{ community_id: string; cells: number }>(CELLS, { ...base, table: cubeRange(HEATMAP_CUBE, q.from, q.to, 'day', { compose: true }) }),
        ctx.queries.rows<{ community_id: string; in_band: number; all: number }>(BANDS, { ...base, table: cubeRange(PRODUCTS_CUBE, q.from, q.to) }),
      ])
      const ids = [...new Set([...users, ...gmv].map((r) => r.community_id))]
      const get = <T extends { community_id: string }>(rows: T[], id: string) => rows.find((r) => r.community_id === id)
      const raw = ids.map((id) => {
        const g = get(gmv, id)
        const c = num(get(cells, id)?.cells)
        const b = get(bands, id)
        const categoryShare = num(g?.total) ? num(g?.target) / num(g?.total) : 0
        const bandShare = bandIndex >= 0 ? (num(b?.all) ? num(b?.in_band) / num(b?.all) : 0) : 1
        return { community_id: id, active_users: num(get(users, id)?.users), gmv_density_cents: c ? num(g?.target) / c : 0, affinity: categoryShare * bandShare }
      })
      const max = (k: 'active_users' | 'gmv_density_cents' | 'affinity') => Math.max(0, ...raw.map((r) => r[k]))
      const m = { users: max('active_users'), density: max('gmv_density_cents'), affinity: max('affinity') }
      const scale = (v: number, top: number) => (top > 0 ? v / top : 0)
      const ranked = raw
        .map((r) => ({ ...r, score: (scale(r.active_users, m.users) + scale(r.gmv_density_cents, m.density) + scale(r.affinity, m.affinity)) / 3 }))
        .sort((a, b) => b.score - a.score || a.community_id.localeCompare(b.community_id))
      return {
        target: { category: q.category ?? null, price_band: q.priceBand ?? null, daypart: part.part },
        range: { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString() },
        communities: ranked.slice(0, q.limit).map((r, i) => ({ rank: i + 1, ...r })),
      }
    } }
  })
}

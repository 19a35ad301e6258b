import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { badRequest } from '../errors.js'
import { getReport } from './context.js'
import { TargetingResponse } from './responses.js'
import { TimeRange, bound, resolveRange } from './params.js'
import { COMMUNITY_SCOPE, RANGE, num } from './query.js'
import { GMV_CUBE, PRODUCTS_CUBE, cubeRange, measureSql } from '../../queries/index.js'

/*
 * Targeting (issue 6): for a category or a sku, rank communities by affinity — how close each
 * community's category mix is (cosine similarity) to the mix of the communities where the target
 * sells, weighted by how much it sells there — next to its current penetration (the target's share
 * of the community's GMV). High affinity with low penetration is where a coupon or a launch has room.
 */

const Id = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, '1-64 letters, digits, ".", "_", ":" or "-"')
const TargetingQuery = z
  .object({
    ...TimeRange.shape,
    category: Id.optional().describe('the target category'),
    sku: Id.optional().describe('or the target sku'),
    limit: z.coerce.number().int().min(1, 'must be 1-1000').max(1000, 'must be 1-1000').default(50),
  })
  .transform((q, ctx) => ({ ...q, ...resolveRange(q, Date.now(), ctx, 28 * 86_400_000) }))

const MIX = `
  SELECT community_id, category_id, ${measureSql(GMV_CUBE, 'gmv_cents')} AS gmv
  FROM {table:Identifier} WHERE ${RANGE} AND ${COMMUNITY_SCOPE}
  GROUP BY community_id, category_id`

const TARGET_SKU = `
  SELECT community_id, ${measureSql(PRODUCTS_CUBE, 'gmv_cents')} AS gmv
  FROM {table:Identifier} WHERE ${RANGE} AND ${COMMUNITY_SCOPE} AND sku = {sku:String}
  GROUP BY community_id`

/** Cosine similarity of two sparse vectors. */
export function cosine(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number | null {
  let dot = 0
  let na = 0
  let nb = 0
  for (const [k, v] of a) {
    na += v * v
    dot += v * (b.get(k) ?? 0)
  }
  for (const v of b.values()) nb += v * v
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : null
}

export const targetingRoutes: FastifyPluginAsync = async (app) => {
  getReport(app, '/v1/targeting', { access: { roles: ['admin', 'analyst'], reads: 'targeting (it compares every community)' }, response: TargetingResponse, tags: ['analytics'], summary: 'Targeting: communities ranked by affinity to a category or sku (category-mix similarity to where it sells), with current penetration', querystring: TargetingQuery }, ({ query: q, scope }, ctx) => {
    if ((q.category === undefined) === (q.sku === undefined)) throw badRequest('querystring.category: give exactly one of category or sku')
    return { covers: q, compute: async () => {
      const base = { ...scope, from: bound(q.from), to: bound(q.to) }
      const [mixRows, skuRows] = await Promise.all([
        ctx.queries.rows<{ community_id: string; category_id: string; gmv: number }>(MIX, { ...base, table: cubeRange(GMV_CUBE, q.from, q.to) }),
        q.sku ? ctx.queries.rows<{ community_id: string; gmv: number }>(TARGET_SKU, { ...base, table: cubeRange(PRODUCTS_CUBE, q.from, q.to), sku: q.sku }) : Promise.resolve([]),
      ])
      // Each community's category mix, as shares of its GMV.
      const mix = new Map<string, Map<string, number>>()
      const total = new Map<string, number>()
      for (const r of mixRows) {
        const m = mix.get(r.community_id) ?? new Map<string, number>()
        m.set(r.category_id, (m.get(r.category_id) ?? 0) + num(r.gmv))
        mix.set(r.community_id, m)
        total.set(r.community_id, (total.get(r.community_id) ?? 0) + num(r.gmv))
      }
      for (const [c, m] of mix) for (const [k, v] of m) m.set(k, v / (total.get(c) || 1))
      // What the target sells per community.
      const targetSales = new Map<string, number>()
      if (q.sku) for (const r of skuRows) targetSales.set(r.community_id, num(r.gmv))
      else for (const r of mixRows) if (r.category_id === q.category) targetSales.set(r.community_id, num(r.gmv))
      // The target's profile: the communities' mixes, weighted by the target's sales there.
      const profile = new Map<string, number>()
      const weight = [...targetSales.values()].reduce((a, b) => a + b, 0)
      for (const [c, w] of targetSales) for (const [k, v] of mix.get(c) ?? []) profile.set(k, (profile.get(k) ?? 0) + (v * w) / (weight || 1))
      const ranked = [...mix.keys()]
        .map((c) => ({
          community_id: c,
          affinity: weight > 0 ? cosine(mix.get(c) as Map<string, number>, profile) : null,
          penetration: (targetSales.get(c) ?? 0) / (total.get(c) || 1),
          target_gmv_cents: targetSales.get(c) ?? 0,
          community_gmv_cents: total.get(c) ?? 0,
        }))
        .sort((a, b) => (b.affinity ?? -1) - (a.affinity ?? -1) || a.community_id.localeCompare(b.community_id))
      return {
        target: q.sku ? { sku: q.sku } : { category: q.category },
        range: { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString() },
        sells_in: targetSales.size,
        communities: ranked.slice(0, q.limit).map((r, i) => ({ rank: i + 1, ...r })),
      }
    } }
  })
}

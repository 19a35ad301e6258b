import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { scopeParams, type Principal } from '../auth.js'
import { getReport, type ReportContext } from './context.js'
import { HotProductsResponse, TopProductsResponse } from './responses.js'
import { Filters, TimeRange, resolveRange, bound } from './params.js'
import { COMMUNITY_SCOPE, RANGE, SKU_SCOPE, filterOn, num } from './query.js'
import { PRODUCTS_CUBE, cubeRange, measureList } from '../../queries/index.js'

const RankBy = z.enum(['gmv', 'qty']).default('gmv').describe('rank by GMV or by quantity sold')
const Limit = z.coerce.number().int().min(1, 'must be 1-100').max(100, 'must be 1-100').default(10).describe('TOP-N, 1-100')

const TopQuery = z
  .object({ ...TimeRange.shape, community: Filters.shape.community, category: Filters.shape.category, sku: Filters.shape.sku, by: RankBy, limit: Limit })
  .transform((q, ctx) => ({ ...q, ...resolveRange(q, Date.now(), ctx) }))

const HotQuery = z.object({
  window: z.enum(['15', '60']).default('15').transform(Number).describe('the last 15 or 60 minutes, the current minute included'),
  community: Filters.shape.community,
  category: Filters.shape.category,
  by: RankBy,
  limit: Limit,
})

const TOP = `
  SELECT sku, category_id, ${measureList(PRODUCTS_CUBE, ['qty', 'gmv_cents', 'orders'])}
  FROM {table:Identifier}
  WHERE ${RANGE} AND ${COMMUNITY_SCOPE} AND ${SKU_SCOPE}
    AND ${filterOn('f_community', 'community_id')} AND ${filterOn('f_category', 'category_id')} AND ${filterOn('f_sku', 'sku')}
  GROUP BY sku, category_id
  ORDER BY if({by:String} = 'qty', qty, gmv_cents) DESC, sku
  LIMIT {limit:UInt16}`

async function topProducts(ctx: ReportContext, p: Principal, q: { from: number; to: number; community?: string[]; category?: string[]; sku?: string[]; by: 'gmv' | 'qty'; limit: number }) {
  const scope = scopeParams(p, { community: q.community, sku: q.sku })
  const source = cubeRange(PRODUCTS_CUBE, q.from, q.to)
  const rows = await ctx.queries.rows<Record<string, unknown>>(TOP, {
    ...scope, table: source, from: bound(q.from), to: bound(q.to), by: q.by, limit: q.limit,
    f_community: q.community ?? [], f_category: q.category ?? [], f_sku: q.sku ?? [],
  })
  return {
    range: { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString(), table: source.tables },
    by: q.by,
    products: rows.map((r, i) => ({ rank: i + 1, sku: String(r.sku), category_id: String(r.category_id), qty: num(r.qty), gmv_cents: num(r.gmv_cents), orders: num(r.orders) })),
  }
}

/** GET /v1/products/top (TOP-N over a range) and /v1/products/hot (the last 15/60 minutes). */
export const productRoutes: FastifyPluginAsync = async (app) => {
  getReport(app, '/v1/products/top', { access: { reads: 'product rankings', filters: { community: 'community', sku: 'sku' } }, response: TopProductsResponse, tags: ['reports'], summary: 'Product ranking: TOP-N products by GMV or quantity, per community or category', querystring: TopQuery }, ({ query: q, principal }, ctx) => {
    return { covers: q, compute: () => topProducts(ctx, principal, q) }
  })
  getReport(app, '/v1/products/hot', { access: { reads: 'product rankings', filters: { community: 'community' } }, response: HotProductsResponse, tags: ['reports'], summary: 'Hot products now: TOP-N over the last 15 or 60 minutes', querystring: HotQuery }, ({ query: q, principal }, ctx) => {
    const to = Math.floor(ctx.now() / 60_000) * 60_000 + 60_000
    const range = { from: to - q.window * 60_000, to }
    return { covers: null, compute: async () => ({ window_minutes: q.window, ...(await topProducts(ctx, principal, { ...q, ...range })) }) }
  })
}

import type { FastifyPluginAsync } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { ClickHouse } from '../../sinks/index.js'
import { ACTIVITY_CUBE, cubeRange, GMV_CUBE, HEATMAP_CUBE, listDefinitions, measureSql, PRODUCTS_CUBE, putDefinition, type CubeDeclaration } from '../../queries/index.js'
import { ApiError, ApiErrorCode, badRequest } from '../errors.js'
import { scopeParams } from '../auth.js'
import { getReport } from './context.js'
import { CampaignEffectResponse } from './responses.js'
import { bound } from './params.js'
import { communityBuyersSql } from './orders-sql.js'
import { COMMUNITY_SCOPE, RANGE, filterOn, num } from './query.js'

/*
 * Campaign effect (issue 6). A campaign (communities or a bounding box, a time range, optionally
 * categories or skus) is registered through the API; its effect compares GMV, orders, active users
 * and new users in the campaign window with the same weekday-hours of each of the previous `weeks`
 * weeks: uplift = value / baseline mean − 1, with a 95 % interval from the baseline's week-to-week
 * spread (a prediction interval for one more week without the campaign).
 *
 * Where it is measured: a community campaign on the communities' cubes (gmv, or products for skus;
 * activity; buyers per community for new users); a bbox campaign on the heatmap cells (geohash 7,
 * ≈ 150 m, selected by their centre) inside the box — paid orders and GMV at the delivery point,
 * active users at located events — and its new users are those new to the communities that had
 * activity in the box in that window. The heatmap has no categories, so a bbox campaign takes none.
 */

const WEEK = 7 * 86_400_000
const Id = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, '1-64 letters, digits, ".", "_", ":" or "-"')
const instant = z.iso.datetime({ offset: true, message: 'expected an ISO 8601 date-time, e.g. 2026-11-24T08:00:00Z' })

export const CampaignSchema = z
  .object({
    id: Id,
    name: z.string().min(1).max(200),
    communities: z.array(Id).max(100).default([]).describe('the communities it runs in (or give bbox)'),
    bbox: z
      .tuple([z.number().min(-180).max(180), z.number().min(-90).max(90), z.number().min(-180).max(180), z.number().min(-90).max(90)], { message: 'expected [minLon, minLat, maxLon, maxLat]' })
      .refine(([a, b, c, d]) => a < c && b < d, 'min must be below max ([minLon, minLat, maxLon, maxLat])')
      .optional()
      .describe('or the area it runs in: [minLon, minLat, maxLon, maxLat] (WGS 84)'),
    categories: z.array(Id).max(100).default([]).describe('GMV and orders of these categories only (empty: all)'),
    skus: z.array(Id).max(100).default([]).describe('GMV and orders of these skus only (empty: all)'),
    from: instant,
    to: instant,
  })
  .strict()
  .refine((c) => c.communities.length > 0 || c.bbox !== undefined, { path: ['communities'], message: 'a campaign runs in at least one community, or in a bbox' })
  .refine((c) => !(c.communities.length > 0 && c.bbox), { path: ['bbox'], message: 'name communities or a bbox, not both' })
  .refine((c) => !c.bbox || (c.categories.length === 0 && c.skus.length === 0), { path: ['bbox'], message: 'a bbox campaign measures every category (the heatmap cube has none): drop categories and skus, or name communities' })
  .refine((c) => Date.parse(c.from) < Date.parse(c.to), { path: ['to'], message: 'must be after from' })
  .refine((c) => Date.parse(c.to) - Date.parse(c.from) <= WEEK, { path: ['to'], message: 'a campaign window may last at most 7 days (its baseline is the same weekday-hours of earlier weeks)' })
export type Campaign = z.output<typeof CampaignSchema>

/** Student-t 97.5 % quantiles for 1-12 degrees of freedom. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179]

/** Uplift of `value` over a baseline of weekly values, with a 95 % prediction interval. */
export function uplift(value: number, baseline: readonly number[]): { baseline_mean: number | null; uplift: number | null; low: number | null; high: number | null; significant: boolean } {
  const n = baseline.length
  if (n === 0) return { baseline_mean: null, uplift: null, low: null, high: null, significant: false }
  const mean = baseline.reduce((a, b) => a + b, 0) / n
  if (mean === 0) return { baseline_mean: 0, uplift: null, low: null, high: null, significant: value > 0 }
  const sd = n > 1 ? Math.sqrt(baseline.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0
  const half = n > 1 ? (T975[Math.min(n - 2, T975.length - 1)] as number) * sd * Math.sqrt(1 + 1 / n) : 0
  const lo = mean - half
  const hi = mean + half
  return {
    baseline_mean: mean,
    uplift: value / mean - 1,
    // The uplift that would be measured at each end of the no-campaign interval.
    low: value / hi - 1,
    high: lo > 0 ? value / lo - 1 : null,
    significant: value > hi || value < lo,
  }
}

type Rows = { queries: { rows<T>(q: string, p: Record<string, unknown>): Promise<T[]> } }

/** Heatmap cells of the finest precision whose centre lies in the box. */
const IN_BOX = `precision = 7 AND (geohashDecode(cell) AS ll).1 >= {min_lon:Float64} AND ll.1 <= {max_lon:Float64} AND ll.2 >= {min_lat:Float64} AND ll.2 <= {max_lat:Float64}`

/** One window's value of each metric (active users are distinct per window, so one query per window). */
async function windowValues(ctx: Rows, c: Campaign, from: number, to: number, scope: Record<string, unknown>) {
  const table = (cube: CubeDeclaration) => cubeRange(cube, from, to, 'hour')
  const box = c.bbox ? { min_lon: c.bbox[0], min_lat: c.bbox[1], max_lon: c.bbox[2], max_lat: c.bbox[3] } : {}
  const p = { ...scope, ...box, communities: c.communities, categories: c.categories, skus: c.skus, from: bound(from), to: bound(to), from_ms: from, to_ms: to, heat: table(HEATMAP_CUBE) }
  // New users: first paid in the window, in the campaign's communities (for a box, those active in it then).
  const where = c.bbox
    ? `${COMMUNITY_SCOPE} AND community_id IN (SELECT DISTINCT community_id FROM {heat:Identifier} WHERE ${RANGE} AND ${IN_BOX})`
    : `${COMMUNITY_SCOPE} AND has({communities:Array(String)}, community_id)`
  const newUsers = ctx.queries.rows<{ users: number }>(`SELECT countIf(first_paid >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')) AS users FROM (${communityBuyersSql(where)})`, p)
  if (c.bbox) {
    const [[h], [n]] = await Promise.all([
      ctx.queries.rows<{ gmv: number; orders: number; users: number }>(`SELECT ${measureSql(HEATMAP_CUBE, 'gmv_cents')} AS gmv, ${measureSql(HEATMAP_CUBE, 'orders')} AS orders, ${measureSql(HEATMAP_CUBE, 'users')} AS users FROM {heat:Identifier}
        WHERE ${RANGE} AND ${COMMUNITY_SCOPE} AND ${IN_BOX}`, p),
      newUsers,
    ])
    return { gmv_cents: num(h?.gmv), orders: num(h?.orders), active_users: num(h?.users), new_users: num(n?.users) }
  }
  // A sku campaign reads the products cube: the order states of those skus, so an order that
  // bought several of them (or one on several lines) counts once.
  const sales = c.skus.length
    ? ctx.queries.rows<{ gmv: number; orders: number }>(`SELECT ${measureSql(PRODUCTS_CUBE, 'gmv_cents')} AS gmv, ${measureSql(PRODUCTS_CUBE, 'order_ids')} AS orders FROM {table:Identifier}
      WHERE ${RANGE} AND ${COMMUNITY_SCOPE} AND has({communities:Array(String)}, community_id) AND has({skus:Array(String)}, sku) AND ${filterOn('categories', 'category_id')}`, { ...p, table: table(PRODUCTS_CUBE) })
    : ctx.queries.rows<{ gmv: number; orders: number }>(`SELECT ${measureSql(GMV_CUBE, 'gmv_cents')} AS gmv, ${measureSql(GMV_CUBE, 'orders')} AS orders FROM {table:Identifier}
      WHERE ${RANGE} AND ${COMMUNITY_SCOPE} AND has({communities:Array(String)}, community_id) AND ${filterOn('categories', 'category_id')}`, { ...p, table: table(GMV_CUBE) })
  const [[g], [a], [n]] = await Promise.all([
    sales,
    ctx.queries.rows<{ users: number }>(`SELECT ${measureSql(ACTIVITY_CUBE, 'users')} AS users FROM {table:Identifier}
      WHERE ${RANGE} AND ${COMMUNITY_SCOPE} AND has({communities:Array(String)}, community_id)`, { ...p, table: table(ACTIVITY_CUBE) }),
    newUsers,
  ])
  return { gmv_cents: num(g?.gmv), orders: num(g?.orders), active_users: num(a?.users), new_users: num(n?.users) }
}

const CAMPAIGNS = { table: 'campaigns', idColumn: 'campaign_id' } as const

async function listCampaigns(ch: ClickHouse): Promise<Campaign[]> {
  // As with alert rules: a stored definition a newer release no longer accepts is skipped.
  return (await listDefinitions(ch, CAMPAIGNS)).flatMap((d) => {
    const parsed = CampaignSchema.safeParse(d)
    return parsed.success ? [parsed.data] : []
  })
}

export const campaignRoutes: FastifyPluginAsync = async (app) => {
  // Definitions are read and written through the API's session pool and its deadline.
  const db = <T>(fn: (ch: ClickHouse) => Promise<T>): Promise<T> => app.reports.queries.session(fn)
  const typed = app.withTypeProvider<ZodTypeProvider>()
  const Params = z.object({ id: Id })
  const EffectQuery = z.object({ weeks: z.coerce.number().int().min(2, 'must be 2-12').max(12, 'must be 2-12').default(4).describe('previous weeks the baseline averages') })

  typed.get('/v1/campaigns', { config: { access: { roles: ['admin', 'analyst'], reads: 'campaigns' } }, schema: { tags: ['analytics'], summary: 'Registered campaigns', response: { 200: z.object({ campaigns: z.array(CampaignSchema) }) } } }, async () => {
    return { campaigns: await db((ch) => listCampaigns(ch)) }
  })
  typed.post('/v1/campaigns', { config: { access: { roles: ['admin'], reads: 'or register campaigns (admin only)' } }, schema: { tags: ['analytics'], summary: 'Register a campaign (admin)', body: CampaignSchema, response: { 201: CampaignSchema } } }, async (req, reply) => {
    if ((await db((ch) => listCampaigns(ch))).some((c) => c.id === req.body.id)) throw new ApiError(ApiErrorCode.CONFLICT, 409, `campaign ${req.body.id} exists`)
    await db((ch) => putDefinition(ch, CAMPAIGNS, req.body.id, req.body, req.principal.name))
    return reply.status(201).send(req.body)
  })
  getReport(app, '/v1/campaigns/:id/effect', { access: { roles: ['admin', 'analyst', 'leader'], reads: 'campaign effects' }, response: CampaignEffectResponse, tags: ['analytics'], summary: 'Campaign effect: uplift of GMV, orders, active users and new users against the same weekday-hours of previous weeks, with a 95 % interval', params: Params, querystring: EffectQuery }, async ({ query, params, principal }, ctx) => {
    const c = (await db((ch) => listCampaigns(ch))).find((x) => x.id === params.id)
    if (!c) throw new ApiError(ApiErrorCode.NOT_FOUND, 404, `campaign ${params.id} does not exist`)
    const scope: Record<string, unknown> = { ...scopeParams(principal, { community: c.communities }) }
    const from = Date.parse(c.from)
    const to = Date.parse(c.to)
    if (to > ctx.now()) throw badRequest(`campaign ${c.id} has not ended yet (it ends ${c.to}): its effect is measured on the whole window`)
    return { covers: { to }, compute: async () => {
      const campaign = await windowValues(ctx, c, from, to, scope)
      const weeks = await Promise.all(Array.from({ length: query.weeks }, (_, i) => windowValues(ctx, c, from - (i + 1) * WEEK, to - (i + 1) * WEEK, scope)))
      const metric = (k: keyof typeof campaign) => ({ value: campaign[k], baseline: weeks.map((w) => w[k]), ...uplift(campaign[k], weeks.map((w) => w[k])) })
      return {
        campaign: c,
        measured_on: c.bbox ? 'heatmap cells (geohash 7) in the bbox' : c.skus.length ? 'products of the skus in the communities' : 'the communities',
        baseline_weeks: query.weeks,
        gmv_cents: metric('gmv_cents'),
        orders: metric('orders'),
        active_users: metric('active_users'),
        new_users: metric('new_users'),
      }
    } }
  })
}

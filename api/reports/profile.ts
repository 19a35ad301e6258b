import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { validTimeZone } from '../../schemas/index.js'
import { getReport } from './context.js'
import { ProfileResponse } from './responses.js'
import { TimeRange, bound, localHourGrain, resolveRange } from './params.js'
import { communityBuyersSql } from './orders-sql.js'
import { COMMUNITY_SCOPE, RANGE, num } from './query.js'
import { GMV_CUBE, PRODUCTS_CUBE, cubeRange, measureSql } from '../../queries/index.js'

/*
 * Community consumption profile (issue 6, the "portrait"): category mix, price bands, time of day,
 * average basket, new vs returning users — each next to the same figure over every community the
 * caller may see (the city for admins and analysts).
 */

const CommunityParam = z.object({ id: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'a community id is 1-64 letters, digits, ".", "_", ":" or "-"') })
const ProfileQuery = z
  .object({ ...TimeRange.shape, tz: z.string().refine(validTimeZone, 'not an IANA time zone (e.g. Asia/Shanghai)').optional().describe('local time zone of the dayparts; default API_TIMEZONE') })
  .transform((q, ctx) => ({ ...q, ...resolveRange(q, Date.now(), ctx, 28 * 86_400_000) }))

/** Price bands by unit price, in cents. */
export const PRICE_BANDS = [
  { band: 'under 10', max: 1000 },
  { band: '10-30', max: 3000 },
  { band: '30-80', max: 8000 },
  { band: '80 and over', max: Number.MAX_SAFE_INTEGER },
] as const
/** Dayparts by local hour. */
export const DAYPARTS = [
  { part: 'night', from: 0, to: 6 },
  { part: 'morning', from: 6, to: 11 },
  { part: 'midday', from: 11, to: 14 },
  { part: 'afternoon', from: 14, to: 18 },
  { part: 'evening', from: 18, to: 22 },
  { part: 'late', from: 22, to: 24 },
] as const

const CATEGORIES = `
  SELECT category_id, ${measureSql(GMV_CUBE, 'gmv_cents', 'community_id = {id:String}')} AS mine, ${measureSql(GMV_CUBE, 'gmv_cents')} AS all
  FROM {table:Identifier} WHERE ${RANGE} AND ${COMMUNITY_SCOPE} GROUP BY category_id ORDER BY all DESC, category_id`

const BASKET = (exact: boolean) => `
  SELECT ${measureSql(GMV_CUBE, 'gmv_cents', 'community_id = {id:String}')} AS mine_gmv, ${measureSql(GMV_CUBE, 'orders', 'community_id = {id:String}', exact)} AS mine_orders,
         ${measureSql(GMV_CUBE, 'gmv_cents')} AS all_gmv, ${measureSql(GMV_CUBE, 'orders', undefined, exact)} AS all_orders
  FROM {table:Identifier} WHERE ${RANGE} AND ${COMMUNITY_SCOPE}`

const HOURS = (exact: boolean) => `
  SELECT toHour(window_start, {tz:String}) AS hour, ${measureSql(GMV_CUBE, 'orders', 'community_id = {id:String}', exact)} AS mine, ${measureSql(GMV_CUBE, 'orders', undefined, exact)} AS all
  FROM {table:Identifier} WHERE ${RANGE} AND ${COMMUNITY_SCOPE} GROUP BY hour`

/** Quantity per price band: a sku's unit price is its GMV over its quantity in the range. */
const PRICES = `
  SELECT multiIf(${PRICE_BANDS.slice(0, -1).map((b, i) => `price < ${b.max}, ${i}`).join(', ')}, ${PRICE_BANDS.length - 1}) AS band,
         sumIf(q, community_id = {id:String}) AS mine, sum(q) AS all
  FROM (SELECT community_id, sku, ${measureSql(PRODUCTS_CUBE, 'qty')} AS q, ${measureSql(PRODUCTS_CUBE, 'gmv_cents')} / greatest(${measureSql(PRODUCTS_CUBE, 'qty')}, 1) AS price
        FROM {table:Identifier} WHERE ${RANGE} AND ${COMMUNITY_SCOPE} GROUP BY community_id, sku)
  GROUP BY band ORDER BY band`

/**
 * Paying users in the range, per community, and those new to it: their first paid order in that
 * community (within the lifecycle's 400 days) is in the range. The city figure counts each
 * community's users (a user of two communities counts in both).
 */
const NEW_USERS = `
  SELECT countIf(community_id = {id:String}) AS mine_users, countIf(community_id = {id:String} AND first_paid >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')) AS mine_new,
         count() AS all_users, countIf(first_paid >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')) AS all_new
  FROM (${communityBuyersSql(COMMUNITY_SCOPE)})`

const share = (n: number, d: number): number | null => (d > 0 ? n / d : null)

export const profileRoutes: FastifyPluginAsync = async (app) => {
  getReport(app, '/v1/communities/:id/profile', { access: { roles: ['admin', 'analyst', 'leader'], reads: 'community profiles', filters: { community: 'id' } }, response: ProfileResponse, tags: ['analytics'], summary: 'Community consumption profile: category mix, price bands, time of day, average basket, new vs returning users, each against every community the caller may see', params: CommunityParam, querystring: ProfileQuery }, ({ query: q, scope, params, principal }, ctx) => {
    const id = params.id
    const tz = q.tz ?? ctx.config.api.timezone
    const byLocalHour = localHourGrain(tz, q.from, q.to, ctx.now())
    return { covers: q, compute: async () => {
      const base = { ...scope, id, from: bound(q.from), to: bound(q.to), from_ms: q.from, to_ms: q.to, tz }
      const exact = await ctx.queries.exactCounts(GMV_CUBE, 'orders', q.from, [])
      const [categories, [basket], hours, prices, [users]] = await Promise.all([
        ctx.queries.rows<{ category_id: string; mine: number; all: number }>(CATEGORIES, { ...base, table: cubeRange(GMV_CUBE, q.from, q.to) }),
        ctx.queries.rows<{ mine_gmv: number; mine_orders: number; all_gmv: number; all_orders: number }>(BASKET(exact), { ...base, table: cubeRange(GMV_CUBE, q.from, q.to) }),
        ctx.queries.rows<{ hour: number; mine: number; all: number }>(HOURS(exact), { ...base, table: cubeRange(GMV_CUBE, q.from, q.to, byLocalHour) }),
        ctx.queries.rows<{ band: number; mine: number; all: number }>(PRICES, { ...base, table: cubeRange(PRODUCTS_CUBE, q.from, q.to) }),
        ctx.queries.rows<{ mine_users: number; mine_new: number; all_users: number; all_new: number }>(NEW_USERS, base),
      ])
      const sum = <T>(rows: T[], f: (r: T) => number) => rows.reduce((n, r) => n + f(r), 0)
      const [catMine, catAll] = [sum(categories, (r) => num(r.mine)), sum(categories, (r) => num(r.all))]
      const [hourMine, hourAll] = [sum(hours, (r) => num(r.mine)), sum(hours, (r) => num(r.all))]
      const [priceMine, priceAll] = [sum(prices, (r) => num(r.mine)), sum(prices, (r) => num(r.all))]
      return {
        community_id: id,
        range: { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString() },
        compared_with: principal.communities ? 'the communities of this key' : 'the city',
        categories: categories.map((r) => ({ category_id: r.category_id, gmv_cents: num(r.mine), share: share(num(r.mine), catMine), city_share: share(num(r.all), catAll) })),
        price_bands: PRICE_BANDS.map((b, i) => {
          const r = prices.find((x) => num(x.band) === i)
          return { band: b.band, qty: num(r?.mine), share: share(num(r?.mine), priceMine), city_share: share(num(r?.all), priceAll) }
        }),
        dayparts: DAYPARTS.map((d) => {
          const inPart = hours.filter((h) => num(h.hour) >= d.from && num(h.hour) < d.to)
          const mine = sum(inPart, (h) => num(h.mine))
          return { part: d.part, hours: `${d.from}-${d.to}`, orders: mine, share: share(mine, hourMine), city_share: share(sum(inPart, (h) => num(h.all)), hourAll) }
        }),
        basket: {
          orders: num(basket?.mine_orders),
          avg_basket_cents: num(basket?.mine_orders) ? Math.round(num(basket?.mine_gmv) / num(basket?.mine_orders)) : null,
          city_avg_basket_cents: num(basket?.all_orders) ? Math.round(num(basket?.all_gmv) / num(basket?.all_orders)) : null,
        },
        users: {
          paying: num(users?.mine_users),
          new: num(users?.mine_new),
          returning: num(users?.mine_users) - num(users?.mine_new),
          new_share: share(num(users?.mine_new), num(users?.mine_users)),
          city_new_share: share(num(users?.all_new), num(users?.all_users)),
        },
      }
    } }
  })
}

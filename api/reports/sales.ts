import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { getReport } from './context.js'
import { SalesOverviewResponse } from './responses.js'
import { Filters, Granularity, MAX_POINTS, STEP_MS, TimeRange, bucketStarts, minuteCubesKeep, resolveRange, type Grain, bound } from './params.js'
import { COMMUNITY_SCOPE, RANGE, filterOn, num } from './query.js'
import { CubeRange, GMV_CUBE, cubeRange, measureList } from '../../queries/index.js'

/** The default series step for a range: about 100-1500 points. */
export function defaultGranularity(spanMs: number): Grain {
  if (spanMs <= 6 * 3_600_000) return 'minute'
  if (spanMs <= 14 * 86_400_000) return 'hour'
  return 'day'
}

/** A series query's granularity: given or chosen by span; too many points is a 400 naming the field. */
export function seriesGranularity(q: { granularity?: Grain; from: number; to: number }, ctx: z.RefinementCtx): Grain {
  const g = q.granularity ?? defaultGranularity(q.to - q.from)
  if ((q.to - q.from) / STEP_MS[g] > MAX_POINTS) ctx.addIssue({ code: 'custom', path: ['granularity'], message: `${g} buckets over this range exceed ${MAX_POINTS} points: use a coarser granularity` })
  return g
}

const SalesQuery = z
  .object({
    ...TimeRange.shape,
    community: Filters.shape.community,
    leader: Filters.shape.leader,
    category: Filters.shape.category,
    granularity: Granularity.optional().describe('series step; default by range: ≤ 6 h minute, ≤ 14 days hour, else day'),
    by: z.enum(['community']).optional().describe('also break the totals down per community'),
  })
  .transform((q, ctx) => {
    const range = resolveRange(q, Date.now(), ctx)
    return { ...q, ...range, granularity: seriesGranularity({ ...q, ...range }, ctx) }
  })

/** The totals' measures (paid_orders is how `orders` is read when exact, not a figure of its own). */
const MEASURES = ['gmv_cents', 'items', 'orders', 'paying_users', 'refund_cents', 'refunded_orders', 'cancelled_orders']

const WHERE = `${COMMUNITY_SCOPE} AND ${filterOn('f_community', 'community_id')} AND ${filterOn('f_leader', 'leader_id')} AND ${filterOn('f_category', 'category_id')}`

/**
 * Current and previous period in one pass (aliases never reuse a column name: `orders` must stay
 * the state). `exact`: orders from the exact sum (ReportQueries.exactCounts), else from the states.
 */
const TOTALS = (exact: boolean) => `
  WITH window_start >= toDateTime({from:UInt32}, 'UTC') AS cur
  SELECT ${measureList(GMV_CUBE, MEASURES, { prefix: 'c_', condition: 'cur', exact })},
         ${measureList(GMV_CUBE, MEASURES, { prefix: 'p_', condition: 'NOT cur', exact })}
  FROM {table:Identifier}
  WHERE window_start >= toDateTime({prev_from:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC') AND ${WHERE}`

const SERIES = (exact: boolean) => `
  SELECT toUnixTimestamp(toStartOfInterval(window_start, toIntervalSecond({step:UInt32}))) AS t,
         ${measureList(GMV_CUBE, ['gmv_cents', 'orders', 'paying_users', 'refund_cents'], { exact })}
  FROM {table:Identifier} WHERE ${RANGE} AND ${WHERE}
  GROUP BY t ORDER BY t`

const BY_COMMUNITY = (exact: boolean) => `
  SELECT community_id, ${measureList(GMV_CUBE, MEASURES, { exact })}
  FROM {table:Identifier} WHERE ${RANGE} AND ${WHERE}
  GROUP BY community_id ORDER BY gmv_cents DESC, community_id LIMIT 1000`

interface Totals {
  gmv_cents: number
  items: number
  orders: number
  paying_users: number
  refund_cents: number
  refunded_orders: number
  cancelled_orders: number
  avg_order_value_cents: number | null
}

function totals(r: Record<string, unknown>, prefix = ''): Totals {
  const t = {
    gmv_cents: num(r[`${prefix}gmv_cents`]),
    items: num(r[`${prefix}items`]),
    orders: num(r[`${prefix}orders`]),
    paying_users: num(r[`${prefix}paying_users`]),
    refund_cents: num(r[`${prefix}refund_cents`]),
    refunded_orders: num(r[`${prefix}refunded_orders`]),
    cancelled_orders: num(r[`${prefix}cancelled_orders`]),
  }
  return { ...t, avg_order_value_cents: t.orders ? Math.round(t.gmv_cents / t.orders) : null }
}

/**
 * The previous period's start: `from − span`, or — where that instant lies off the hour and before
 * the minute cubes' retention, so its first minutes are no longer kept — the next hour, which the
 * response then names as `previous.from` (the period is shorter by under an hour, and says so).
 */
export function previousStart(start: number, now: number): number {
  const hour = STEP_MS.hour
  return start % hour === 0 || minuteCubesKeep(start, now) ? start : Math.ceil(start / hour) * hour
}

const change = (cur: number, prev: number): number | null => (prev === 0 ? null : (cur - prev) / prev)

/** GET /v1/sales/overview — community sales: totals, the previous period, a time series. */
export const salesRoutes: FastifyPluginAsync = async (app) => {
  getReport(app, '/v1/sales/overview', { access: { roles: ['admin', 'analyst', 'leader'], reads: 'community sales (they are not per SKU)', filters: { community: 'community', leader: 'leader' } }, response: SalesOverviewResponse, tags: ['reports'], summary: 'Community sales overview: GMV, orders, paying users, average order value, refunds; totals, previous period, time series', querystring: SalesQuery }, ({ query: q, scope }, ctx) => {
    const span = q.to - q.from
    const base = { ...scope, f_community: q.community ?? [], f_leader: q.leader ?? [], f_category: q.category ?? [], from: bound(q.from), to: bound(q.to) }
    return { covers: q, compute: async () => {
      const now = ctx.now()
      const prevFrom = previousStart(q.from - span, now)
      // Both periods in one pass, cut at `from` so that no rollup bucket straddles the two.
      const periods = new CubeRange(GMV_CUBE, [prevFrom, q.from, q.to], 'day', { now })
      const step = STEP_MS[q.granularity]
      const split = q.category?.length ? ['category_id'] : []
      const [exactBoth, exact] = await Promise.all([ctx.queries.exactCounts(GMV_CUBE, 'orders', prevFrom, split), ctx.queries.exactCounts(GMV_CUBE, 'orders', q.from, split)])
      const [t, series, byCommunity] = await Promise.all([
        ctx.queries.rows<Record<string, unknown>>(TOTALS(exactBoth), { ...base, table: periods, prev_from: bound(prevFrom) }),
        ctx.queries.rows<Record<string, unknown>>(SERIES(exact), { ...base, table: cubeRange(GMV_CUBE, q.from, q.to, q.granularity), step: step / 1000 }),
        q.by === 'community' ? ctx.queries.rows<Record<string, unknown>>(BY_COMMUNITY(exact), { ...base, table: cubeRange(GMV_CUBE, q.from, q.to) }) : Promise.resolve(null),
      ])
      const row = t[0] ?? {}
      const cur = totals(row, 'c_')
      const prev = totals(row, 'p_')
      const points = new Map(series.map((r) => [num(r.t) * 1000, r]))
      return {
        range: { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString(), table: periods.tables },
        totals: cur,
        previous: { from: new Date(prevFrom).toISOString(), to: new Date(q.from).toISOString(), ...prev },
        change: { gmv_cents: change(cur.gmv_cents, prev.gmv_cents), orders: change(cur.orders, prev.orders), paying_users: change(cur.paying_users, prev.paying_users), avg_order_value_cents: cur.avg_order_value_cents !== null && prev.avg_order_value_cents !== null ? change(cur.avg_order_value_cents, prev.avg_order_value_cents) : null },
        series: {
          granularity: q.granularity,
          points: bucketStarts(q.from, q.to, step).map((ts) => {
            const r = points.get(ts)
            return { t: new Date(ts).toISOString(), gmv_cents: num(r?.gmv_cents), orders: num(r?.orders), paying_users: num(r?.paying_users), refund_cents: num(r?.refund_cents) }
          }),
        },
        ...(byCommunity ? { communities: byCommunity.map((r) => ({ community_id: String(r.community_id), ...totals(r) })) } : {}),
      }
    } }
  })
}

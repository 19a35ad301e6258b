import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { getReport } from './context.js'
import { RepurchaseResponse } from './responses.js'
import { Filters } from './params.js'
import { paidOrdersSql } from './orders-sql.js'
import { COMMUNITY_SCOPE, filterOn, num } from './query.js'

/*
 * Repurchase rate (issue 6): per community, the share of users who paid for an order in the last
 * `days` days and paid for at least two; the same for each of the `weeks` weeks before, as a trend,
 * and city-wide (a user counts once in the city however many communities she ordered in). Read
 * from the order lifecycle table (one row per order after merges; the payment time decides).
 */

const WEEK = 7 * 86_400_000
const MINUTE = 60_000

const RepurchaseQuery = z.object({
  to: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 date-time, e.g. 2026-11-24T08:00:00Z' }).transform((s) => Date.parse(s)).optional().describe('end of the latest window (exclusive); default now'),
  days: z.coerce.number().int().min(1, 'must be 1-180').max(180, 'must be 1-180').default(30).describe('window length in days'),
  weeks: z.coerce.number().int().min(1, 'must be 1-26').max(26, 'must be 1-26').default(8).describe('how many weekly points of the trend (the latest first)'),
  community: Filters.shape.community,
})

/** Paid orders of the whole trend's span, one row per order. */
const PAID = paidOrdersSql({ where: `${COMMUNITY_SCOPE} AND ${filterOn('f_community', 'community_id')}`, paidIn: ['start', 'to'] })

/** Per week w (0 = the latest) and group: the users who paid in the window and how many paid twice. */
const TREND = (group: string) => `
  SELECT w, ${group} AS g, count() AS buyers, countIf(n >= 2) AS repeaters FROM (
    SELECT w, ${group}, user_id, count() AS n
    FROM (${PAID}) ARRAY JOIN range({weeks:UInt8}) AS w
    WHERE p >= fromUnixTimestamp64Milli(toInt64({to:Int64} - w * ${WEEK} - {days_ms:Int64}), 'UTC') AND p < fromUnixTimestamp64Milli(toInt64({to:Int64} - w * ${WEEK}), 'UTC')
    GROUP BY w, ${group}, user_id)
  GROUP BY w, g ORDER BY w, g`

export const repurchaseRoutes: FastifyPluginAsync = async (app) => {
  getReport(app, '/v1/repurchase', { access: { roles: ['admin', 'analyst', 'leader'], reads: 'repurchase rates', filters: { community: 'community' } }, response: RepurchaseResponse, tags: ['analytics'], summary: 'Repurchase rate: the share of ordering users in the last N days who ordered at least twice, per community and city-wide, with a weekly trend', querystring: RepurchaseQuery }, ({ query: q, scope }, ctx) => {
    const to = q.to ?? Math.floor(ctx.now() / MINUTE) * MINUTE
    return { covers: { to }, compute: async () => {
      const params = { ...scope, f_community: q.community ?? [], to, start: to - (q.weeks - 1) * WEEK - q.days * 86_400_000, days_ms: q.days * 86_400_000, weeks: q.weeks }
      const [byCommunity, city] = await Promise.all([
        ctx.queries.rows<{ w: number; g: string; buyers: number; repeaters: number }>(TREND('community_id'), params),
        ctx.queries.rows<{ w: number; g: string; buyers: number; repeaters: number }>(TREND("''"), params),
      ])
      const point = (w: number, r?: { buyers: number; repeaters: number }) => ({
        window_end: new Date(to - w * WEEK).toISOString(),
        buyers: num(r?.buyers),
        repeaters: num(r?.repeaters),
        rate: num(r?.buyers) ? num(r?.repeaters) / num(r?.buyers) : null,
      })
      const trend = (rows: typeof city) => Array.from({ length: q.weeks }, (_, w) => point(w, rows.find((r) => num(r.w) === w)))
      const communities = [...new Set(byCommunity.map((r) => r.g))].sort()
      return {
        days: q.days,
        city: { ...point(0, city.find((r) => num(r.w) === 0)), trend: trend(city) },
        communities: communities.map((c) => {
          const rows = byCommunity.filter((r) => r.g === c)
          return { community_id: c, ...point(0, rows.find((r) => num(r.w) === 0)), trend: trend(rows) }
        }),
      }
    } }
  })
}

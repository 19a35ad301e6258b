import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { maskAddress, maskName, maskPhone, seesPii } from '../auth.js'
import { getReport } from './context.js'
import { LateDeliveriesResponse, LeaderPerformanceResponse } from './responses.js'
import { Filters, TimeRange, resolveRange, bound } from './params.js'
import { paidOrdersSql } from './orders-sql.js'
import { COMMUNITY_SCOPE, RANGE, filterOn, num } from './query.js'
import { COMPLAINTS_CUBE, GMV_CUBE, cubeRange, measureList } from '../../queries/index.js'

/*
 * Group-leader performance. Orders and GMV come from the gmv cube; durations from the order
 * lifecycle table (one row per order after merges), over the orders *paid* in the range:
 * accept = paid → accepted, sort = accepted → sorted, deliver = sorted → delivered. A late
 * delivery is paid → delivered longer than LATE_DELIVERY_MINUTES. Complaints are those filed in
 * the range (complaints cube); the complaint rate divides them by the orders paid in the range.
 */

const Sort = z.enum(['gmv', 'orders', 'late_rate', 'complaint_rate', 'deliver_p90']).default('gmv')
  .describe('ranking: gmv and orders descending; late_rate, complaint_rate and deliver_p90 ascending (best first)')

const LeadersQuery = z
  .object({
    ...TimeRange.shape,
    community: Filters.shape.community,
    leader: Filters.shape.leader,
    sort: Sort,
    limit: z.coerce.number().int().min(1, 'must be 1-1000').max(1000, 'must be 1-1000').default(100),
  })
  .transform((q, ctx) => ({ ...q, ...resolveRange(q, Date.now(), ctx) }))

const LateQuery = z
  .object({ ...TimeRange.shape, limit: z.coerce.number().int().min(1, 'must be 1-500').max(500, 'must be 1-500').default(50) })
  .transform((q, ctx) => ({ ...q, ...resolveRange(q, Date.now(), ctx) }))

const LeaderParam = z.object({ leaderId: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'a leader id is 1-64 letters, digits, ".", "_", ":" or "-"') })

const WHERE = `${COMMUNITY_SCOPE} AND ${filterOn('f_community', 'community_id')} AND ${filterOn('f_leader', 'leader_id')}`

const GMV = (exact: boolean) => `
  SELECT community_id, leader_id, ${measureList(GMV_CUBE, ['gmv_cents', 'orders'], { exact })}
  FROM {table:Identifier} WHERE ${RANGE} AND ${WHERE}
  GROUP BY community_id, leader_id`

/** The orders paid in [from, to), one row each, with their step times. */
const PAID_ORDERS = paidOrdersSql({ where: WHERE, paidIn: ['from_ms', 'to_ms'], extra: 'min(accepted_at) AS a, min(sorted_at) AS s, min(delivered_at) AS d' })

const LIFECYCLE = `
  SELECT community_id, leader_id, count() AS paid_orders, countIf(d IS NOT NULL) AS delivered,
         countIf(d IS NOT NULL AND dateDiff('second', p, assumeNotNull(d)) > {late_s:UInt32}) AS late_deliveries,
         countIf(a IS NOT NULL) AS accept_n, countIf(a IS NOT NULL AND s IS NOT NULL) AS sort_n, countIf(s IS NOT NULL AND d IS NOT NULL) AS deliver_n,
         quantilesExactIf(0.5, 0.9)(dateDiff('second', p, assumeNotNull(a)), a IS NOT NULL) AS accept_q,
         quantilesExactIf(0.5, 0.9)(dateDiff('second', assumeNotNull(a), assumeNotNull(s)), a IS NOT NULL AND s IS NOT NULL) AS sort_q,
         quantilesExactIf(0.5, 0.9)(dateDiff('second', assumeNotNull(s), assumeNotNull(d)), s IS NOT NULL AND d IS NOT NULL) AS deliver_q
  FROM (${PAID_ORDERS})
  GROUP BY community_id, leader_id`

const COMPLAINTS = `
  SELECT community_id, leader_id, reason, ${measureList(COMPLAINTS_CUBE)}
  FROM {table:Identifier} WHERE ${RANGE} AND ${WHERE}
  GROUP BY community_id, leader_id, reason`

const LATE = `
  SELECT l.order_id AS order_id, l.community_id AS community_id, toUnixTimestamp64Milli(l.p) AS paid_ms, toUnixTimestamp64Milli(assumeNotNull(l.d)) AS delivered_ms,
         c.customer_name AS customer_name, c.customer_phone AS customer_phone, c.customer_address AS customer_address
  FROM (${PAID_ORDERS}) AS l
  LEFT JOIN (
    SELECT order_id, any(customer_name) AS customer_name, any(customer_phone) AS customer_phone, any(customer_address) AS customer_address
    FROM order_events
    WHERE status = 'created' AND ${WHERE}
      AND event_time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') - INTERVAL 7 DAY AND event_time < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
    GROUP BY order_id) AS c ON c.order_id = l.order_id
  WHERE l.d IS NOT NULL AND dateDiff('second', l.p, assumeNotNull(l.d)) > {late_s:UInt32}
  ORDER BY dateDiff('second', l.p, assumeNotNull(l.d)) DESC, order_id
  LIMIT {limit:UInt16}`

/** p50/p90 in seconds, null where no order reached that step. */
const pair = (q: unknown, n: unknown): { p50: number | null; p90: number | null } => {
  const a = (q as number[] | undefined) ?? []
  return num(n) > 0 && a.length === 2 ? { p50: Number(a[0]), p90: Number(a[1]) } : { p50: null, p90: null }
}

/** GET /v1/leaders/performance (a ranking) and /v1/leaders/:leaderId/late-deliveries (with customer contact, PII by role). */
export const leaderRoutes: FastifyPluginAsync = async (app) => {
  const lateS = app.reports.config.api.lateDeliveryMinutes * 60

  getReport(app, '/v1/leaders/performance', { access: { roles: ['admin', 'analyst', 'leader'], reads: 'group-leader performance', filters: { community: 'community', leader: 'leader' } }, response: LeaderPerformanceResponse, tags: ['reports'], summary: 'Group-leader performance: orders, GMV, accept/sort/deliver durations (p50/p90 s), late deliveries, complaint rate, top complaint reasons; ranked', querystring: LeadersQuery }, ({ query: q, scope }, ctx) => {
    return { covers: q, compute: async () => {
      const base = { ...scope, f_community: q.community ?? [], f_leader: q.leader ?? [], from: bound(q.from), to: bound(q.to), from_ms: q.from, to_ms: q.to, late_s: lateS }
      const exact = await ctx.queries.exactCounts(GMV_CUBE, 'orders', q.from, [])
      const [gmv, life, complaints] = await Promise.all([
        ctx.queries.rows<Record<string, unknown>>(GMV(exact), { ...base, table: cubeRange(GMV_CUBE, q.from, q.to) }),
        ctx.queries.rows<Record<string, unknown>>(LIFECYCLE, base),
        ctx.queries.rows<Record<string, unknown>>(COMPLAINTS, { ...base, table: cubeRange(COMPLAINTS_CUBE, q.from, q.to) }),
      ])
      const key = (r: Record<string, unknown>) => `${String(r.community_id)}|${String(r.leader_id)}`
      const leaders = new Map<string, { community_id: string; leader_id: string }>()
      for (const r of [...gmv, ...life, ...complaints]) leaders.set(key(r), { community_id: String(r.community_id), leader_id: String(r.leader_id) })
      const gmvBy = new Map(gmv.map((r) => [key(r), r]))
      const lifeBy = new Map(life.map((r) => [key(r), r]))
      const reasons = new Map<string, Map<string, number>>()
      for (const r of complaints) {
        const m = reasons.get(key(r)) ?? new Map<string, number>()
        m.set(String(r.reason), (m.get(String(r.reason)) ?? 0) + num(r.complaints))
        reasons.set(key(r), m)
      }
      const rows = [...leaders].map(([k, id]) => {
        const g = gmvBy.get(k)
        const l = lifeBy.get(k)
        const rs = [...(reasons.get(k) ?? new Map<string, number>())].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        const complaintsN = rs.reduce((n, [, c]) => n + c, 0)
        const paid = num(l?.paid_orders)
        const delivered = num(l?.delivered)
        const late = num(l?.late_deliveries)
        // Named properties, not `...id`: a spread followed by more properties built each of the
        // 1,000 rows about ten times slower (20-50 ms a report on a slow day, bench/README.md).
        return {
          rank: 0,
          community_id: id.community_id,
          leader_id: id.leader_id,
          gmv_cents: num(g?.gmv_cents),
          orders: num(g?.orders),
          paid_orders: paid,
          delivered,
          late_deliveries: late,
          late_rate: delivered ? late / delivered : null,
          accept_seconds: pair(l?.accept_q, l?.accept_n),
          sort_seconds: pair(l?.sort_q, l?.sort_n),
          deliver_seconds: pair(l?.deliver_q, l?.deliver_n),
          complaints: complaintsN,
          complaint_rate: paid ? complaintsN / paid : null,
          top_complaint_reasons: rs.slice(0, 5).map(([reason, count]) => ({ reason, complaints: count })),
        }
      })
      const asc = (v: number | null) => (v === null ? Number.POSITIVE_INFINITY : v)
      const by: Record<typeof q.sort, (a: (typeof rows)[number], b: (typeof rows)[number]) => number> = {
        gmv: (a, b) => b.gmv_cents - a.gmv_cents,
        orders: (a, b) => b.orders - a.orders,
        late_rate: (a, b) => asc(a.late_rate) - asc(b.late_rate),
        complaint_rate: (a, b) => asc(a.complaint_rate) - asc(b.complaint_rate),
        deliver_p90: (a, b) => asc(a.deliver_seconds.p90) - asc(b.deliver_seconds.p90),
      }
      rows.sort((a, b) => by[q.sort](a, b) || a.leader_id.localeCompare(b.leader_id))
      return {
        range: { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString() },
        late_after_minutes: ctx.config.api.lateDeliveryMinutes,
        sort: q.sort,
        leaders: rows.slice(0, q.limit).map((r, i) => Object.assign(r, { rank: i + 1 })),
      }
    } }
  })

  getReport(app, '/v1/leaders/:leaderId/late-deliveries', { access: { roles: ['admin', 'analyst', 'leader'], reads: 'late deliveries', filters: { leader: 'leaderId' } }, response: LateDeliveriesResponse, tags: ['reports'], summary: 'A leader\'s late deliveries with customer contact (personal data masked unless the role allows it)', params: LeaderParam, querystring: LateQuery }, ({ query: q, scope, params, principal }, ctx) => {
    const clear = seesPii(principal)
    return { covers: q, compute: async () => {
      const rows = await ctx.queries.rows<Record<string, unknown>>(LATE, {
        ...scope, f_community: [], f_leader: [params.leaderId], from_ms: q.from, to_ms: q.to, late_s: lateS, limit: q.limit,
      })
      return {
        leader_id: params.leaderId,
        late_after_minutes: ctx.config.api.lateDeliveryMinutes,
        pii: clear ? 'clear' : 'masked',
        orders: rows.map((r) => {
          const name = String(r.customer_name ?? '')
          const phone = String(r.customer_phone ?? '')
          const address = String(r.customer_address ?? '')
          return {
            order_id: String(r.order_id),
            community_id: String(r.community_id),
            paid_at: new Date(num(r.paid_ms)).toISOString(),
            delivered_at: new Date(num(r.delivered_ms)).toISOString(),
            minutes: Math.floor((num(r.delivered_ms) - num(r.paid_ms)) / 60_000),
            customer: clear ? { name, phone, address } : { name: maskName(name), phone: maskPhone(phone), address: maskAddress(address) },
          }
        }),
      }
    } }
  })
}

import type { ReportQueries } from '../api/reports/query.js'

/**
 * The baseline of bench/api.ts: the dashboard's reports computed from the raw fact tables
 * (order_events, behaviour_events) with plain SQL, as a team without cubes would write them — the
 * same numbers as the cube reports (the bench checks a total of each against the API's answer), on
 * the same engine and session pool, served over the same HTTP stack. Deduplication is not paid
 * for here: the raw tables hold each event once already (the pipelines' exactly-once inserts), a
 * favour a real raw-event store would not get.
 */
export type RawQuery = {
  readonly from: number
  readonly to: number
  /** Series step in seconds (sales, activity). */
  readonly step: number
}

const RANGE = `event_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`
const PREV_RANGE = `event_time >= fromUnixTimestamp64Milli({prev_from:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`

const SALES_TOTALS = `
  WITH event_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AS cur
  SELECT sumIf(amount_cents, cur AND status = 'paid') AS c_gmv_cents, uniqIf(order_id, cur AND status = 'paid') AS c_orders,
         uniqIf(user_id, cur AND status = 'paid') AS c_paying_users, sumIf(ifNull(refund_cents, 0), cur AND status = 'refunded') AS c_refund_cents,
         uniqIf(order_id, cur AND status = 'cancelled') AS c_cancelled_orders,
         sumIf(amount_cents, NOT cur AND status = 'paid') AS p_gmv_cents, uniqIf(order_id, NOT cur AND status = 'paid') AS p_orders,
         uniqIf(user_id, NOT cur AND status = 'paid') AS p_paying_users, sumIf(ifNull(refund_cents, 0), NOT cur AND status = 'refunded') AS p_refund_cents
  FROM order_events WHERE ${PREV_RANGE} AND status IN ('paid', 'refunded', 'cancelled')`

const SALES_SERIES = `
  SELECT toUnixTimestamp(toStartOfInterval(event_time, toIntervalSecond({step:UInt32}))) AS t,
         sumIf(amount_cents, status = 'paid') AS gmv_cents, uniqIf(order_id, status = 'paid') AS orders,
         uniqIf(user_id, status = 'paid') AS paying_users, sumIf(ifNull(refund_cents, 0), status = 'refunded') AS refund_cents
  FROM order_events WHERE ${RANGE} AND status IN ('paid', 'refunded')
  GROUP BY t ORDER BY t`

const PRODUCTS_TOP = `
  SELECT line_s AS sku, line_c AS category_id, sum(line_q) AS qty, sum(line_q * line_p) AS gmv_cents, uniqExact(order_id) AS orders
  FROM order_events ARRAY JOIN line_sku AS line_s, line_category_id AS line_c, line_qty AS line_q, line_unit_price_cents AS line_p
  WHERE ${RANGE} AND status = 'paid'
  GROUP BY sku, category_id ORDER BY gmv_cents DESC, sku LIMIT 10`

const ACTIVITY_EVENTS = `
  SELECT event_time, action, user_id FROM behaviour_events WHERE ${RANGE}
  UNION ALL SELECT event_time, 'order', user_id FROM order_events WHERE ${RANGE} AND status = 'created'`

const ACTIVITY_BY_ACTION = `SELECT action, count() AS events, uniq(user_id) AS users FROM (${ACTIVITY_EVENTS}) GROUP BY ROLLUP(action) ORDER BY action`
const ACTIVITY_SERIES = `
  SELECT toUnixTimestamp(toStartOfInterval(event_time, toIntervalSecond({step:UInt32}))) AS t, count() AS events, uniq(user_id) AS users
  FROM (${ACTIVITY_EVENTS}) GROUP BY t ORDER BY t`

/** Precision-6 cells (zoom 13) of paid orders' delivery points and behaviour events' positions. */
const HEATMAP = `
  SELECT geohashEncode(lon, lat, 6) AS cell, sum(paid) AS orders, sum(amount) AS gmv_cents, uniq(user_id) AS users FROM (
    SELECT assumeNotNull(lon) AS lon, assumeNotNull(lat) AS lat, user_id, 0 AS paid, toUInt64(0) AS amount FROM behaviour_events WHERE ${RANGE} AND lat IS NOT NULL
    UNION ALL SELECT delivery_lon, delivery_lat, user_id, 1, amount_cents FROM order_events WHERE ${RANGE} AND status = 'paid')
  GROUP BY cell ORDER BY orders DESC, cell LIMIT 2000`

const TIME_OF_DAY = `
  SELECT toDayOfWeek(event_time, 0, 'Asia/Shanghai') >= 6 AS weekend, toHour(event_time, 'Asia/Shanghai') AS hour,
         uniq(order_id) AS orders, sum(amount_cents) AS gmv_cents
  FROM order_events WHERE ${RANGE} AND status = 'paid'
  GROUP BY weekend, hour ORDER BY weekend, hour`

export const RAW_REPORTS = {
  sales: async (q: ReportQueries, r: RawQuery) => {
    const params = { from: r.from, to: r.to, prev_from: r.from - (r.to - r.from), step: r.step }
    const [totals, series] = await Promise.all([q.rows<Record<string, number>>(SALES_TOTALS, params), q.rows(SALES_SERIES, params)])
    return { totals: totals[0], series }
  },
  products: async (q: ReportQueries, r: RawQuery) => ({ products: await q.rows<Record<string, unknown>>(PRODUCTS_TOP, r) }),
  activity: async (q: ReportQueries, r: RawQuery) => {
    const [byAction, series] = await Promise.all([q.rows(ACTIVITY_BY_ACTION, r), q.rows(ACTIVITY_SERIES, r)])
    return { byAction, series }
  },
  heatmap: async (q: ReportQueries, r: RawQuery) => ({ cells: await q.rows<Record<string, number>>(HEATMAP, r) }),
  timeOfDay: async (q: ReportQueries, r: RawQuery) => ({ hours: await q.rows<Record<string, number>>(TIME_OF_DAY, r) }),
} as const
export type RawReport = keyof typeof RAW_REPORTS

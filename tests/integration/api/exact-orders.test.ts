import { describe, expect, it } from 'vitest'
import { apiSuite, DAY_START, iso } from './fixture.js'

/*
 * Orders are counted exactly from the gmv cube's paid_orders sum (each paid order once, on its
 * first line's row) wherever a read does not split them by category and every bucket of its range
 * carries the sum; elsewhere from the `orders` states. A database filled before the migration
 * that added paid_orders is played by zeroing the sums and recording, as the migration does on a
 * cube that already held rows, that they start the day after the data: its reports must still
 * count every order, from the states.
 */

const HOUR = 3_600_000
const HOURS = 3
const R = { from: DAY_START + HOUR, to: DAY_START + HOURS * HOUR }
const range = `from=${iso(R.from)}&to=${iso(R.to)}`
const IN_RANGE = `toStartOfMinute(event_time) >= toDateTime({f:UInt32}, 'UTC') AND toStartOfMinute(event_time) < toDateTime({t:UInt32}, 'UTC')`
const secs = { f: R.from / 1000, t: R.to / 1000 }

/** Distinct paid orders over the raw events (with a line in one of `categories`, when given). */
async function paidOrders(s: ReturnType<typeof apiSuite>, categories: string[] = []): Promise<number> {
  const [r] = await s.sql<{ n: number }>(`
    SELECT uniqExact(order_id) AS n FROM order_events ARRAY JOIN line_category_id AS cat
    WHERE status = 'paid' AND ${IN_RANGE} AND (empty({k:Array(String)}) OR has({k:Array(String)}, cat))`, { ...secs, k: categories })
  return Number(r?.n)
}

/** The cube's paid_orders over the range: what a report would read if it took the sum. */
async function cubeSum(s: ReturnType<typeof apiSuite>): Promise<number> {
  const [r] = await s.sql<{ n: number }>(`SELECT sum(paid_orders) AS n FROM gmv_minute WHERE window_start >= toDateTime({f:UInt32}, 'UTC') AND window_start < toDateTime({t:UInt32}, 'UTC')`, secs)
  return Number(r?.n)
}

/** Orders as three reports read them: the sales overview, time of day and the leader ranking. */
async function reportOrders(s: ReturnType<typeof apiSuite>, query = ''): Promise<{ sales: number; timeOfDay: number; leaders: number }> {
  const sales = await s.get(`/v1/sales/overview?${range}${query}`)
  const tod = await s.get(`/v1/time-of-day?${range}${query}`)
  const leaders = await s.get(`/v1/leaders/performance?${range}&limit=1000`)
  for (const r of [sales, tod, leaders]) expect(r.status, JSON.stringify(r.body)).toBe(200)
  const sum = (xs: { orders: number }[]) => xs.reduce((n, x) => n + x.orders, 0)
  return { sales: sales.body.totals.orders, timeOfDay: sum([...tod.body.weekday, ...tod.body.weekend]), leaders: sum(leaders.body.leaders) }
}

describe('orders counted exactly from paid_orders, and from the states before it existed', () => {
  const fresh = apiSuite('api_exact_orders', {}, HOURS)
  const legacy = apiSuite('api_legacy_orders', {}, HOURS, DAY_START, {}, async (ch, end) => {
    for (const table of ['gmv_minute', 'gmv_hour', 'gmv_day']) {
      await ch.client.command({ query: `ALTER TABLE ${table} UPDATE paid_orders = 0 WHERE 1`, clickhouse_settings: { mutations_sync: '2' } })
    }
    await ch.client.command({ query: "INSERT INTO streamcube_measures_since VALUES ('gmv', 'paid_orders', toDateTime({since:UInt32}, 'UTC'))", query_params: { since: Math.ceil(end / 86_400_000 + 1) * 86_400 } })
  })

  // The other way round: the `orders` states emptied of their orders (one '' each), so a report
  // that merged them would count one order per group — the reports must read the sums.
  const sumsOnly = apiSuite('api_sums_orders', {}, HOURS, DAY_START, {}, async (ch) => {
    for (const table of ['gmv_minute', 'gmv_hour', 'gmv_day']) {
      await ch.client.command({ query: `ALTER TABLE ${table} UPDATE orders = initializeAggregation('uniqState', '') WHERE 1`, clickhouse_settings: { mutations_sync: '2' } })
    }
  })

  it('a new cube carries paid_orders in every bucket, and the reports count from it exactly', async () => {
    const truth = await paidOrders(fresh)
    expect(truth).toBeGreaterThan(500)
    expect(await cubeSum(fresh)).toBe(truth)
    expect(await reportOrders(fresh)).toEqual({ sales: truth, timeOfDay: truth, leaders: truth })
  })

  it('the reports read orders from the sums, not the states, where the read allows it', async () => {
    const truth = await paidOrders(sumsOnly)
    expect(truth).toBeGreaterThan(500)
    const [states] = await sumsOnly.sql<{ n: number }>(`SELECT uniqMerge(orders) AS n FROM gmv_minute WHERE window_start >= toDateTime({f:UInt32}, 'UTC') AND window_start < toDateTime({t:UInt32}, 'UTC')`, secs)
    expect(Number(states?.n)).toBe(1) // the fixture is what it says: the states would count one order
    expect(await reportOrders(sumsOnly)).toEqual({ sales: truth, timeOfDay: truth, leaders: truth })
  })

  it('a read by category counts the orders with a line in it (an order spans categories: from the states)', async () => {
    const [{ category } = { category: '' }] = await fresh.sql<{ category: string }>(`SELECT cat AS category FROM order_events ARRAY JOIN line_category_id AS cat WHERE status = 'paid' GROUP BY cat ORDER BY count() DESC LIMIT 1`)
    const truth = await paidOrders(fresh, [category])
    expect(truth).toBeGreaterThan(0)
    expect(truth).toBeLessThan(await paidOrders(fresh))
    const res = await fresh.get(`/v1/sales/overview?${range}&category=${encodeURIComponent(category)}`)
    expect(res.body.totals.orders).toBe(truth)
  })

  it('rows written before the migration hold no paid_orders: their orders come from the states', async () => {
    const truth = await paidOrders(legacy)
    expect(truth).toBeGreaterThan(500)
    expect(await cubeSum(legacy)).toBe(0) // the fixture is what it says: the sum would count nothing
    expect(await reportOrders(legacy)).toEqual({ sales: truth, timeOfDay: truth, leaders: truth })
  })
})

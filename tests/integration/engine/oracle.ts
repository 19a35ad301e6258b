import type { ClickHouse } from '../../../sinks/index.js'

/**
 * Each cube, read back at its own grain, against plain SQL over the raw fact tables. A check is
 * the symmetric difference of the two result sets (EXCEPT both ways): zero rows means equal,
 * exactly. `oracleRows` is the size of the oracle side, so a check over nothing cannot pass.
 */
/** `rare`: the source events are rare enough (complaints, nightly stocktakes) that a short run may have none. */
export const ORACLE_CHECKS: { name: string; cube: string; oracle: string; rare?: boolean }[] = [
  {
    name: 'gmv_minute',
    cube: `SELECT window_start, community_id, leader_id, category_id, sum(gmv_cents) g, sum(items) i, uniqMerge(orders) o, uniqMerge(paying_users) u
           FROM gmv_minute GROUP BY ALL HAVING g > 0`,
    oracle: `SELECT toStartOfMinute(event_time) AS window_start, community_id, leader_id, cat AS category_id, sum(q * p) g, sum(q) i, uniq(order_id) o, uniq(user_id) u
             FROM order_events ARRAY JOIN line_category_id AS cat, line_qty AS q, line_unit_price_cents AS p
             WHERE status = 'paid' GROUP BY ALL`,
  },
  {
    // Each paid order once, on its first line's row: exact where the uniq states are approximate.
    name: 'gmv paid_orders (per community and leader: each order once, exactly)',
    cube: `SELECT window_start, community_id, leader_id, sum(paid_orders) o FROM gmv_minute GROUP BY ALL HAVING o > 0`,
    oracle: `SELECT toStartOfMinute(event_time) AS window_start, community_id, leader_id, uniqExact(order_id) o FROM order_events WHERE status = 'paid' AND notEmpty(line_category_id) GROUP BY ALL`,
  },
  {
    name: 'gmv_day rollup of paid_orders (city-wide, exactly)',
    cube: `SELECT window_start, sum(paid_orders) o FROM gmv_day GROUP BY ALL HAVING o > 0`,
    oracle: `SELECT toStartOfDay(event_time) AS window_start, uniqExact(order_id) o FROM order_events WHERE status = 'paid' AND notEmpty(line_category_id) GROUP BY ALL`,
  },
  {
    name: 'gmv refunds and cancellations (per community and leader)',
    cube: `SELECT community_id, leader_id, sum(refund_cents) r, uniqMerge(refunded_orders) ro, uniqMerge(cancelled_orders) co FROM gmv_minute GROUP BY ALL HAVING r > 0 OR co > 0`,
    oracle: `SELECT community_id, leader_id, sumIf(ifNull(refund_cents, 0), status = 'refunded') r, uniqIf(order_id, status = 'refunded') ro, uniqIf(order_id, status = 'cancelled') co
             FROM order_events GROUP BY ALL HAVING r > 0 OR co > 0`,
  },
  {
    name: 'gmv_hour rollup',
    cube: `SELECT window_start, community_id, sum(gmv_cents) g, uniqMerge(orders) o FROM gmv_hour GROUP BY ALL HAVING g > 0`,
    oracle: `SELECT toStartOfHour(event_time) AS window_start, community_id, sum(amount_cents) g, uniq(order_id) o FROM order_events WHERE status = 'paid' GROUP BY ALL`,
  },
  {
    name: 'gmv_day rollup',
    cube: `SELECT window_start, sum(gmv_cents) g, uniqMerge(paying_users) u FROM gmv_day GROUP BY ALL HAVING g > 0`,
    oracle: `SELECT toStartOfDay(event_time) AS window_start, sum(amount_cents) g, uniq(user_id) u FROM order_events WHERE status = 'paid' GROUP BY ALL`,
  },
  {
    name: 'activity_minute',
    cube: `SELECT window_start, community_id, action, sum(events) e, uniqMerge(users) u FROM activity_minute GROUP BY ALL`,
    oracle: `SELECT window_start, community_id, action, count() e, uniq(user_id) u FROM (
               SELECT toStartOfMinute(event_time) AS window_start, community_id, action, user_id FROM behaviour_events
               UNION ALL SELECT toStartOfMinute(event_time), community_id, 'order', user_id FROM order_events WHERE status = 'created')
             GROUP BY ALL`,
  },
  {
    name: 'activity_day funnel users',
    cube: `SELECT window_start, action, uniqMerge(users) u FROM activity_day GROUP BY ALL`,
    oracle: `SELECT window_start, action, uniq(user_id) u FROM (
               SELECT toStartOfDay(event_time) AS window_start, action, user_id FROM behaviour_events
               UNION ALL SELECT toStartOfDay(event_time), 'order', user_id FROM order_events WHERE status = 'created')
             GROUP BY ALL`,
  },
  {
    name: 'products_minute',
    // Orders are distinct orders per sku: an order with the sku on two lines counts once.
    cube: `SELECT window_start, community_id, sku, category_id, sum(qty) q, sum(gmv_cents) g, sum(orders) o, uniqMerge(order_ids) ou FROM products_minute GROUP BY ALL`,
    oracle: `SELECT toStartOfMinute(event_time) AS window_start, community_id, line_s AS sku, line_c AS category_id, sum(line_q) q, sum(line_q * line_p) g, uniqExact(order_id) o, uniq(order_id) ou
             FROM order_events ARRAY JOIN line_sku AS line_s, line_category_id AS line_c, line_qty AS line_q, line_unit_price_cents AS line_p
             WHERE status = 'paid' GROUP BY ALL`,
  },
  {
    name: 'products_day, orders of a category (a set of skus: each order once, through the rollup)',
    cube: `SELECT window_start, community_id, category_id, uniqMerge(order_ids) o FROM products_day GROUP BY ALL`,
    oracle: `SELECT toStartOfDay(event_time) AS window_start, community_id, line_c AS category_id, uniq(order_id) o
             FROM order_events ARRAY JOIN line_category_id AS line_c WHERE status = 'paid' GROUP BY ALL`,
  },
  {
    name: 'heatmap_minute (geohashEncode takes longitude first)',
    cube: `SELECT window_start, precision, cell, community_id, sum(orders) o, sum(gmv_cents) g, uniqMerge(users) u FROM heatmap_minute GROUP BY ALL`,
    oracle: `SELECT window_start, precision, geohashEncode(plon, plat, precision) AS cell, community_id, sum(paid) o, sum(amount) g, uniq(user_id) u FROM (
               SELECT toStartOfMinute(event_time) AS window_start, community_id, assumeNotNull(lat) AS plat, assumeNotNull(lon) AS plon, user_id, 0 AS paid, toUInt64(0) AS amount
                 FROM behaviour_events WHERE lat IS NOT NULL
               UNION ALL SELECT toStartOfMinute(event_time), community_id, delivery_lat, delivery_lon, user_id, 1, amount_cents FROM order_events WHERE status = 'paid')
             ARRAY JOIN [5, 6, 7] AS precision
             GROUP BY ALL`,
  },
  {
    name: 'order_lifecycle',
    cube: `SELECT order_id, community_id, leader_id, min(created_at) c, min(paid_at) p, min(accepted_at) a, min(sorted_at) s, min(delivered_at) d, min(cancelled_at) x, sum(complaints) k
           FROM order_lifecycle GROUP BY ALL`,
    oracle: `SELECT order_id, community_id, leader_id,
               minIf(toNullable(event_time), status = 'created') c, minIf(toNullable(event_time), status = 'paid') p, minIf(toNullable(event_time), status = 'accepted') a,
               minIf(toNullable(event_time), status = 'sorted') s, minIf(toNullable(event_time), status = 'delivered') d, minIf(toNullable(event_time), status = 'cancelled') x,
               countIf(status = 'complaint') k
             FROM order_events GROUP BY ALL`,
  },
  {
    name: 'complaints_minute',
    rare: true,
    cube: `SELECT window_start, community_id, leader_id, reason, sum(complaints) k FROM complaints_minute GROUP BY ALL`,
    oracle: `SELECT toStartOfMinute(event_time) AS window_start, community_id, leader_id, ifNull(complaint_reason, 'other') AS reason, count() k FROM order_events WHERE status = 'complaint' GROUP BY ALL`,
  },
  {
    name: 'inventory_batches',
    cube: `SELECT warehouse_id, sku, batch_id, sum(received) r, sum(sold) s, sum(lost) l, max(expiry_date) e FROM inventory_batches GROUP BY ALL`,
    oracle: `SELECT warehouse_id, sku, ifNull(batch_id, '') AS batch_id, sumIf(qty, kind = 'receipt') r, sumIf(qty, kind = 'sale') s, sumIf(qty, kind = 'loss') l, max(expiry_date) e
             FROM inventory_events WHERE kind != 'stocktake' GROUP BY ALL`,
  },
  {
    name: 'inventory_movements_minute',
    cube: `SELECT window_start, warehouse_id, sku, kind, sum(qty) q, sum(events) n FROM inventory_movements_minute GROUP BY ALL`,
    oracle: `SELECT toStartOfMinute(event_time) AS window_start, warehouse_id, sku, kind, sum(qty) q, count() n FROM inventory_events GROUP BY ALL`,
  },
  {
    name: 'inventory_stocktakes',
    rare: true,
    cube: `SELECT warehouse_id, sku, counted_at, qty FROM inventory_stocktakes FINAL`,
    oracle: `SELECT warehouse_id, sku, event_time, qty FROM inventory_events WHERE kind = 'stocktake'`,
  },
]

async function count(ch: ClickHouse, sql: string): Promise<number> {
  const rs = await ch.client.query({ query: `SELECT count() AS n FROM (${sql})`, format: 'JSONEachRow' })
  return Number((await rs.json<{ n: string }>())[0]?.n)
}

async function sample(ch: ClickHouse, sql: string): Promise<unknown[]> {
  const rs = await ch.client.query({ query: `SELECT * FROM (${sql}) LIMIT 3`, format: "JSONEachRow" })
  return rs.json()
}

/** Runs every check; returns name → { differing rows, oracle rows, a few rows of each side of the difference }. */
export interface OracleResult {
  diff: number
  oracleRows: number
  rare: boolean
  onlyInCube?: unknown[]
  onlyInOracle?: unknown[]
}

export async function runOracle(ch: ClickHouse): Promise<Record<string, OracleResult>> {
  const out: Record<string, OracleResult> = {}
  for (const c of ORACLE_CHECKS) {
    const diff = await count(ch, `(${c.cube} EXCEPT ${c.oracle}) UNION ALL (${c.oracle} EXCEPT ${c.cube})`)
    out[c.name] = { diff, oracleRows: await count(ch, c.oracle), rare: c.rare ?? false }
    if (diff > 0) {
      out[c.name] = { ...out[c.name]!, onlyInCube: await sample(ch, `${c.cube} EXCEPT ${c.oracle}`), onlyInOracle: await sample(ch, `${c.oracle} EXCEPT ${c.cube}`) }
    }
  }
  return out
}

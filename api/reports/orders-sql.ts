/*
 * SQL fragments over the order lifecycle table shared by the reports: one row per paid order
 * (the table merged per order), and per community and user the first and last payment.
 */

/**
 * Paid orders, one row each: order_id, community_id, leader_id, user_id, p (the payment time)
 * and any `extra` columns. `where` filters the unmerged partial rows, `having` the merged orders.
 * The partial rows each carry the first event time of their own flush: a later row (the delivery)
 * can start after any upper bound, so only `lowerBound` (a parameter holding epoch ms) prunes, and
 * an order whose first event is more than 7 days before its payment is not counted.
 */
export function paidOrdersSql(o: { where: string; having?: string; lowerBound?: string; extra?: string }): string {
  return `
  SELECT order_id, community_id, leader_id, any(user_id) AS user_id, assumeNotNull(min(paid_at)) AS p${o.extra ? `, ${o.extra}` : ''}
  FROM order_lifecycle
  WHERE ${o.lowerBound ? `first_event_time >= fromUnixTimestamp64Milli({${o.lowerBound}:Int64}, 'UTC') - INTERVAL 7 DAY AND ` : ''}${o.where}
  GROUP BY order_id, community_id, leader_id
  HAVING min(paid_at) IS NOT NULL${o.having ? ` AND ${o.having}` : ''}`
}

/** p in [{param_from}, {param_to}) as epoch-ms parameters. */
export const paidBetween = (from: string, to: string) => `p >= fromUnixTimestamp64Milli({${from}:Int64}, 'UTC') AND p < fromUnixTimestamp64Milli({${to}:Int64}, 'UTC')`

/**
 * Per community and user who paid in [{from_ms}, {to_ms}): the first payment in that community
 * (within the lifecycle's 400 days) as first_paid — a user is new to the community when it falls
 * in the range.
 */
export const communityBuyersSql = (where: string) => `
  SELECT community_id, user_id, min(p) AS first_paid FROM (${paidOrdersSql({ where, having: "p < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')" })})
  GROUP BY community_id, user_id
  HAVING max(p) >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')`

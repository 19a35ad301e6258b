/*
 * SQL fragments over the order lifecycle table shared by the reports: one row per paid order
 * (the table merged per order), and per community and user the first and last payment.
 */

/**
 * Paid orders, one row each: order_id, community_id, leader_id, user_id, p (the payment time)
 * and any `extra` columns. `where` filters the unmerged partial rows, `having` the merged orders.
 * The partial rows each carry the first event time of their own flush: a later row (the delivery)
 * can start after any upper bound, so only a lower bound prunes, and an order whose first event
 * is more than 7 days before its payment is not counted.
 *
 * `paidIn` (two parameters holding epoch ms) keeps the orders paid in [from, to): the lower bound
 * is `from`, and before grouping, the rows are narrowed to the orders that have a payment in the
 * range. The table is sorted by community, leader and order, not by time, so the lower bound
 * reads every row's first event time either way; the narrowing spares the grouping of every
 * order of the 7 days before `from` by its string id (a 24-hour leader ranking read 1.2-2.3×
 * faster, bench/README.md). The result is the same: an order with no row paid in the range
 * cannot have its first payment there.
 */
export function paidOrdersSql(o: { where: string; having?: string; lowerBound?: string; paidIn?: readonly [from: string, to: string]; extra?: string }): string {
  const lower = o.paidIn?.[0] ?? o.lowerBound
  const since = lower ? `first_event_time >= fromUnixTimestamp64Milli({${lower}:Int64}, 'UTC') - INTERVAL 7 DAY AND ` : ''
  const narrowed = o.paidIn ? `order_id IN (SELECT order_id FROM order_lifecycle WHERE ${since}${paidBetween(...o.paidIn, 'paid_at')} AND ${o.where}) AND ` : ''
  const having = [o.paidIn ? paidBetween(...o.paidIn) : null, o.having].filter((h) => h !== null && h !== undefined).join(' AND ')
  return `
  SELECT order_id, community_id, leader_id, any(user_id) AS user_id, assumeNotNull(min(paid_at)) AS p${o.extra ? `, ${o.extra}` : ''}
  FROM order_lifecycle
  WHERE ${since}${narrowed}${o.where}
  GROUP BY order_id, community_id, leader_id
  HAVING min(paid_at) IS NOT NULL${having ? ` AND ${having}` : ''}`
}

/** `column` (default p, the payment time) in [{param_from}, {param_to}) as epoch-ms parameters. */
export const paidBetween = (from: string, to: string, column = 'p') => `${column} >= fromUnixTimestamp64Milli({${from}:Int64}, 'UTC') AND ${column} < fromUnixTimestamp64Milli({${to}:Int64}, 'UTC')`

/**
 * Per community and user who paid in [{from_ms}, {to_ms}): the first payment in that community
 * (within the lifecycle's 400 days) as first_paid — a user is new to the community when it falls
 * in the range.
 */
export const communityBuyersSql = (where: string) => `
  SELECT community_id, user_id, min(p) AS first_paid FROM (${paidOrdersSql({ where, having: "p < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')" })})
  GROUP BY community_id, user_id
  HAVING max(p) >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')`

/**
 * Question: bench/api.ts finds the cube reports at 1–2× the raw-fact queries for distinct counts,
 * far from 20×. Would coarser rollups buy it — the gmv cube without leader and category (per
 * community), or city-wide — or a fixed-size sketch (HLL) instead of the `uniq` states? Measured
 * on the sales overview's totals query (current and previous period: GMV, orders, paying users,
 * refunds, cancellations), at the SQL level, one at a time, median of 15, on bench/api.ts's filled
 * engine. The rollups are built here for the question (INSERT … SELECT), not by the pipelines.
 *
 * Run: BENCH_DATA_DIR=<dir of bench/api.ts> npx tsx bench/api-rollups.ts
 */
import { GMV_CUBE, measureList } from '../queries/index.js'
import { fmt, machine, writeSection } from './report.js'
import { openFilledApiEngine } from './run-common.js'

const { ch, filled } = await openFilledApiEngine()
const DAY = 86_400_000
const end = filled.end - 1 // off the minute, as a rolling range
const cmd = (query: string) => ch.client.command({ query })
const sum = (c: string) => `CAST(sum(${c}) AS SimpleAggregateFunction(sum, UInt64)) AS ${c}`
const MEASURES = `${sum('gmv_cents')}, ${sum('items')}, uniqMergeState(orders) AS orders, uniqMergeState(paying_users) AS paying_users, ${sum('refund_cents')}, uniqMergeState(refunded_orders) AS refunded_orders, uniqMergeState(cancelled_orders) AS cancelled_orders`
await cmd('DROP TABLE IF EXISTS lever_gmv_community')
await cmd('DROP TABLE IF EXISTS lever_gmv_city')
await cmd('DROP TABLE IF EXISTS lever_gmv_city_hll')
await cmd('DROP TABLE IF EXISTS lever_gmv_city_hll_day')
await cmd('DROP TABLE IF EXISTS lever_gmv_by_time')
// The sort-key lever: the same cube with time first in its key, so a city-wide range reads only its granules.
await cmd('CREATE TABLE lever_gmv_by_time AS gmv_minute ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(window_start) ORDER BY (window_start, community_id, leader_id, category_id)')
await cmd('INSERT INTO lever_gmv_by_time SELECT * FROM gmv_minute')
await cmd('OPTIMIZE TABLE lever_gmv_by_time FINAL')
await cmd(`CREATE TABLE lever_gmv_community ENGINE = AggregatingMergeTree ORDER BY (window_start, community_id) AS SELECT window_start, community_id, ${MEASURES} FROM gmv_minute GROUP BY window_start, community_id`)
await cmd(`CREATE TABLE lever_gmv_city ENGINE = AggregatingMergeTree ORDER BY window_start AS SELECT window_start, ${MEASURES} FROM gmv_minute GROUP BY window_start`)
// The sketch lever: HLL states (fixed 2.5 KB, ≈ 1.6 % error) per minute, city-wide, from the raw facts.
await cmd(`CREATE TABLE lever_gmv_city_hll ENGINE = AggregatingMergeTree ORDER BY window_start AS
  SELECT toStartOfMinute(event_time) AS window_start, CAST(sumIf(amount_cents, status = 'paid') AS SimpleAggregateFunction(sum, UInt64)) AS gmv_cents,
         uniqHLL12StateIf(order_id, status = 'paid') AS orders, uniqHLL12StateIf(user_id, status = 'paid') AS paying_users,
         CAST(sumIf(ifNull(refund_cents, 0), status = 'refunded') AS SimpleAggregateFunction(sum, UInt64)) AS refund_cents,
         uniqHLL12StateIf(order_id, status = 'refunded') AS refunded_orders, uniqHLL12StateIf(order_id, status = 'cancelled') AS cancelled_orders
  FROM order_events GROUP BY window_start`)
await cmd('CREATE TABLE lever_gmv_city_hll_day ENGINE = AggregatingMergeTree ORDER BY window_start AS SELECT toStartOfDay(window_start) AS window_start, CAST(sum(gmv_cents) AS SimpleAggregateFunction(sum, UInt64)) AS gmv_cents, uniqHLL12MergeState(orders) AS orders, uniqHLL12MergeState(paying_users) AS paying_users, CAST(sum(refund_cents) AS SimpleAggregateFunction(sum, UInt64)) AS refund_cents, uniqHLL12MergeState(refunded_orders) AS refunded_orders, uniqHLL12MergeState(cancelled_orders) AS cancelled_orders FROM lever_gmv_city_hll GROUP BY window_start')
const [sizes] = await (await ch.client.query({ query: 'SELECT (SELECT count() FROM gmv_minute) AS built, (SELECT count() FROM lever_gmv_community) AS community, (SELECT count() FROM lever_gmv_city) AS city', format: 'JSONEachRow' })).json<Record<string, string>>()

/** The sales overview's totals as this section measured them: orders from their states (the rollups built here carry no paid_orders). */
const TOTALS_MEASURES = ['gmv_cents', 'items', 'orders', 'paying_users', 'refund_cents', 'refunded_orders', 'cancelled_orders']
const totals = (table: string, merge = 'uniqMerge') => `WITH window_start >= toDateTime({from:UInt32}, 'UTC') AS cur
  SELECT ${measureList(GMV_CUBE, TOTALS_MEASURES, { prefix: 'c_', condition: 'cur' }).replaceAll('uniqMerge', merge)}, ${measureList(GMV_CUBE, TOTALS_MEASURES, { prefix: 'p_', condition: 'NOT cur' }).replaceAll('uniqMerge', merge)}
  FROM ${table} WHERE window_start >= toDateTime({prev_from:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC')`
const RAW = `WITH event_time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') AS cur
  SELECT sumIf(amount_cents, cur AND status = 'paid') AS c_gmv_cents, uniqIf(order_id, cur AND status = 'paid') AS c_orders, uniqIf(user_id, cur AND status = 'paid') AS c_paying_users,
         sumIf(ifNull(refund_cents, 0), cur AND status = 'refunded') AS c_refund_cents, uniqIf(order_id, cur AND status = 'refunded') AS c_refunded_orders, uniqIf(order_id, cur AND status = 'cancelled') AS c_cancelled_orders,
         sumIf(amount_cents, NOT cur AND status = 'paid') AS p_gmv_cents, uniqIf(order_id, NOT cur AND status = 'paid') AS p_orders, uniqIf(user_id, NOT cur AND status = 'paid') AS p_paying_users,
         sumIf(ifNull(refund_cents, 0), NOT cur AND status = 'refunded') AS p_refund_cents, uniqIf(order_id, NOT cur AND status = 'refunded') AS p_refunded_orders, uniqIf(order_id, NOT cur AND status = 'cancelled') AS p_cancelled_orders
  FROM order_events WHERE event_time >= fromUnixTimestamp64Milli({prev_ms:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC') AND status IN ('paid', 'refunded', 'cancelled')`
const SUMS_ONLY = `WITH window_start >= toDateTime({from:UInt32}, 'UTC') AS cur
  SELECT sumIf(gmv_cents, cur) AS c_gmv_cents, sumIf(refund_cents, cur) AS c_refund_cents, sumIf(gmv_cents, NOT cur) AS p_gmv_cents FROM gmv_minute
  WHERE window_start >= toDateTime({prev_from:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC')`
const noItems = (q: string) => q.replace(/, sumIf\(items, cur\) AS c_items|, sumIf\(items, NOT cur\) AS p_items/g, '')
const cases: [string, string][] = [
  ['raw facts (order_events)', RAW],
  ['the cube as built (minute × community × leader × category, uniq states)', totals('gmv_minute')],
  ['the cube as built, sums only (no distinct counts)', SUMS_ONLY],
  ['per community (no leader, no category)', totals('lever_gmv_community')],
  ['city-wide (minute only)', totals('lever_gmv_city')],
  ['city-wide, HLL sketches instead of uniq states', noItems(totals('lever_gmv_city_hll', 'uniqHLL12Merge'))],
  ['city-wide by day, HLL (whole days: the range moved to midnight)', noItems(totals('lever_gmv_city_hll_day', 'uniqHLL12Merge'))],
  ['the cube as built, its key led by time instead of community', totals('lever_gmv_by_time')],
]
const rows: string[] = []
for (const days of [1, 30]) {
  const from = end - days * DAY
  const prev = from - days * DAY
  const params = { from: Math.ceil(from / 1000), to: Math.ceil(end / 1000), prev_from: Math.ceil(prev / 1000), from_ms: from, to_ms: end, prev_ms: prev }
  // The day rollup answers whole days: from midnight to midnight, the same span.
  const dayParams = { ...params, from: Math.floor(from / DAY) * DAY / 1000, to: Math.floor(end / DAY) * DAY / 1000, prev_from: Math.floor(prev / DAY) * DAY / 1000 }
  const times: number[][] = cases.map(() => [])
  const orders: number[] = []
  for (let i = 0; i < 15; i++) {
    for (const [k, [, q]] of cases.entries()) {
      const t = performance.now()
      const [r] = await (await ch.client.query({ query: q, query_params: q.includes('lever_gmv_city_hll_day') ? dayParams : params, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<Record<string, number>>()
      times[k]?.push(performance.now() - t)
      if (i === 0) orders[k] = Number(r?.c_orders ?? Number.NaN)
    }
  }
  const med = times.map((ts) => [...ts].sort((a, b) => a - b)[7] as number)
  for (const [k, [label]] of cases.entries()) {
    rows.push(`| ${days === 1 ? '24 h' : '30 days'} | ${label} | ${(med[k] as number).toFixed(1)} | ${((med[0] as number) / (med[k] as number)).toFixed(1)}× | ${Number.isNaN(orders[k]) ? '—' : fmt(orders[k] as number)} |`)
  }
  console.log(rows.slice(-cases.length).join('\n'))
}
await cmd('DROP TABLE lever_gmv_community')
await cmd('DROP TABLE lever_gmv_city')
await cmd('DROP TABLE lever_gmv_city_hll')
await cmd('DROP TABLE lever_gmv_city_hll_day')
await cmd('DROP TABLE lever_gmv_by_time')
await ch.close()

writeSection(
  'api-rollups',
  `### API: would coarser rollups or sketches buy the 20×? (a lever measured, not built)

Question: the sales overview's totals (two periods; GMV, orders, paying users, refunds, cancellations) at the SQL level on the data of the section above (${fmt(filled.events)} events, ${filled.settings}): what do fewer dimensions, or HLL sketches in place of \`uniq\` states, buy over the raw facts?
Command: \`BENCH_DATA_DIR=<dir> npx tsx bench/api-rollups.ts\` after \`BENCH_DATA_DIR=<dir> npx tsx bench/api.ts\` — ${machine()}; one query at a time, median of 15; the rollups are built by INSERT … SELECT for the question. Rows: the cube as built ${fmt(Number(sizes?.built))}, per community ${fmt(Number(sizes?.community))}, city-wide ${fmt(Number(sizes?.city))} (30 days of minutes).

| range | source | ms (p50) | raw over it | orders (current period) |
|---|---|---:|---:|---:|
${rows.join('\n')}

Reading: distinct counts are what the cube cannot make cheap. Merging \`uniq\` states costs about what hashing the raw ids costs, per id, so even one city-wide row per minute stays near the raw query's time; sums alone are many times faster. HLL sketches (fixed 2.5 KB, ≈ 1.6 % error) cost more than small \`uniq\` states per minute, but a day rollup of them is tiny to merge: that is where a 20× lies for long ranges, at the price of exactness the reports promise today — a product decision, recorded in the issue, not taken here. The key order matters as much for city-wide ranges: with community first, a 24-hour query reads every granule of the month.`,
)

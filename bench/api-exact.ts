/**
 * Question: the gmv cube's distinct counts are `uniq` states, approximate above 65,536 values and
 * about as costly to merge as the raw ids. What does exactness cost, read the ways a cube could
 * hold it without a global dictionary — `uniqExact` states, roaring bitmaps of 64-bit hashes
 * (`groupBitmap(sipHash64(id))`) — and what does counting orders as a sum (paid_orders: each
 * order once, on its first line's row, migration 13) buy? Measured at the SQL level on
 * bench/api.ts's filled engine, one query at a time: the sales overview's totals (two periods) and
 * series (24 h and 28 days), and time of day over 28 days, against the counts over the raw facts (uniqExact).
 * The variant tables are built here by INSERT … SELECT through the live view's own query with the
 * states swapped; the real cube answers for `uniq` and for paid_orders.
 *
 * Run: BENCH_DATA_DIR=<dir of bench/api.ts> npx tsx bench/api-exact.ts
 */
import { CubeRange, GMV_CUBE, measureList } from '../queries/index.js'
import { fmt, machine, writeSection } from './report.js'
import { openFilledApiEngine } from './run-common.js'

const { ch, filled } = await openFilledApiEngine()
const cmd = (query: string) => ch.client.command({ query, clickhouse_settings: { max_execution_time: 900 } })
const query = async (sql: string, params: Record<string, unknown> = {}) =>
  (await (await ch.client.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<Record<string, number>>())

/** A variant of the cube: its distinct-count states and how they are made and merged. */
interface Variant { name: string; type: string; state: (col: string) => string; merge: string }
const VARIANTS: Variant[] = [
  { name: 'uniqExact', type: 'AggregateFunction(uniqExact, String)', state: (c) => `uniqExactStateIf(${c}, `, merge: 'uniqExactMerge' },
  { name: 'bitmap64', type: 'AggregateFunction(groupBitmap, UInt64)', state: (c) => `groupBitmapStateIf(sipHash64(${c}), `, merge: 'groupBitmapMerge' },
]
const [view] = await query("SELECT as_select FROM system.tables WHERE database = currentDatabase() AND name = 'gmv_minute_from_stream'")
const live = String(view?.as_select).replace(/FROM\s+\S*order_stream\S*/, 'FROM (SELECT *, toUInt64(18446744073709551615) AS pipes FROM order_events)')
const dims = GMV_CUBE.dimensions.map(([c, t]) => `${c} ${t}`).join(', ')
const keys = GMV_CUBE.dimensions.map(([c]) => c).join(', ')
for (const v of VARIANTS) {
  const select = live.replace(/uniqStateIf\((\w+), /g, (_, c: string) => v.state(c))
  const measures = GMV_CUBE.measures.map(([m, kind]) => `${m} ${kind === 'sum' ? 'SimpleAggregateFunction(sum, UInt64)' : v.type}`).join(', ')
  for (const grain of ['minute', 'hour', 'day']) {
    await cmd(`DROP TABLE IF EXISTS exact_${v.name}_${grain}`)
    await cmd(`CREATE TABLE exact_${v.name}_${grain} (window_start DateTime('UTC'), ${dims}, ${measures}) ENGINE = AggregatingMergeTree ORDER BY (${keys}, window_start)`)
  }
  const columns = ['window_start', keys, ...GMV_CUBE.measures.map(([m]) => m)].join(', ')
  await cmd(`INSERT INTO exact_${v.name}_minute (${columns}) SELECT ${columns} FROM (${select})`)
  for (const [grain, start] of [['hour', 'toStartOfHour'], ['day', 'toStartOfDay']]) {
    const rolled = GMV_CUBE.measures.map(([m, kind]) => (kind === 'sum' ? `sum(${m}) AS ${m}` : `${v.merge}State(${m}) AS ${m}`)).join(', ')
    await cmd(`INSERT INTO exact_${v.name}_${grain} SELECT ${start}(window_start) AS window_start, ${keys}, ${rolled} FROM exact_${v.name}_minute GROUP BY window_start, ${keys}`)
  }
}
for (const table of ['gmv_minute', 'gmv_hour', 'gmv_day', ...VARIANTS.flatMap((v) => ['minute', 'hour', 'day'].map((g) => `exact_${v.name}_${g}`))]) await cmd(`OPTIMIZE TABLE ${table} FINAL`)

const MEASURES = ['gmv_cents', 'items', 'orders', 'paying_users', 'refund_cents', 'refunded_orders', 'cancelled_orders']
/** A read of the cube `cube` with `merge` for its states; `exact`: orders from paid_orders. */
interface Read { label: string; cube: string; merge: string; exact: boolean }
const READS: Read[] = [
  { label: '`uniq` states (the cube before migration 13)', cube: 'gmv', merge: 'uniqMerge', exact: false },
  { label: '`uniq` states, orders as the paid_orders sum (the cube now)', cube: 'gmv', merge: 'uniqMerge', exact: true },
  { label: '`uniqExact` states', cube: 'exact_uniqExact', merge: 'uniqExactMerge', exact: false },
  { label: 'roaring bitmaps of sipHash64 (64-bit, sparse)', cube: 'exact_bitmap64', merge: 'groupBitmapMerge', exact: false },
]
const sub = (sql: string, range: CubeRange) => {
  const s = range.sql('tb')
  return { sql: sql.replace('{tb:Identifier}', s.sql), params: s.params }
}
const salesTotals = (r: Read) => `WITH window_start >= toDateTime({from:UInt32}, 'UTC') AS cur
  SELECT ${measureList(GMV_CUBE, MEASURES, { prefix: 'c_', condition: 'cur', exact: r.exact })}, ${measureList(GMV_CUBE, MEASURES, { prefix: 'p_', condition: 'NOT cur', exact: r.exact })}
  FROM {tb:Identifier} WHERE window_start >= toDateTime({prev:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC')`.replaceAll('uniqMerge', r.merge)
const salesSeries = (r: Read) => `SELECT toUnixTimestamp(toStartOfInterval(window_start, toIntervalSecond({step:UInt32}))) AS t, ${measureList(GMV_CUBE, ['gmv_cents', 'orders', 'paying_users', 'refund_cents'], { exact: r.exact })}
  FROM {tb:Identifier} WHERE window_start >= toDateTime({from:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC') GROUP BY t`.replaceAll('uniqMerge', r.merge)
const timeOfDay = (r: Read) => `SELECT toDayOfWeek(window_start, 0, 'Asia/Shanghai') >= 6 AS weekend, toHour(window_start, 'Asia/Shanghai') AS hour, ${measureList(GMV_CUBE, ['orders', 'gmv_cents'], { exact: r.exact })}
  FROM {tb:Identifier} WHERE window_start >= toDateTime({from:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC') GROUP BY weekend, hour`.replaceAll('uniqMerge', r.merge)

const DAY = 86_400_000
const to = filled.end - 7_777 // a rolling range: off the minute, so the minute tables answer
const cube = (name: string) => ({ ...GMV_CUBE, name })
interface Case { label: string; days: number; run: (r: Read) => Promise<Record<string, number>> }
const at = (days: number) => ({ from: Math.floor((to - days * DAY) / 1000), to: Math.floor(to / 1000), prev: Math.floor((to - 2 * days * DAY) / 1000) })
const sales = (days: number): Case => ({
  label: `sales overview, ${days === 1 ? '24 h' : `${days} days`} (totals of two periods + series)`,
  days,
  run: async (r) => {
    const p = at(days)
    const totals = sub(salesTotals(r), new CubeRange(cube(r.cube), [p.prev * 1000, p.from * 1000, p.to * 1000], 'day', { now: filled.end }))
    const series = sub(salesSeries(r), new CubeRange(cube(r.cube), [p.from * 1000, p.to * 1000], days === 1 ? 'hour' : 'day', { now: filled.end }))
    const [[t]] = await Promise.all([query(totals.sql, { ...p, ...totals.params }), query(series.sql, { ...p, step: days === 1 ? 3600 : 86_400, ...series.params })])
    return { orders: t!.c_orders!, users: t!.c_paying_users! }
  },
})
const tod: Case = {
  label: 'time of day, 28 days',
  days: 28,
  run: async (r) => {
    const p = at(28)
    const q = sub(timeOfDay(r), new CubeRange(cube(r.cube), [p.from * 1000, p.to * 1000], 'minute', { now: filled.end }))
    const rows = await query(q.sql, { ...p, ...q.params })
    return { orders: rows.reduce((n, x) => n + x.orders!, 0) }
  },
}
const raw = async (days: number) => {
  const p = at(days)
  const [r] = await query(`SELECT uniqExact(order_id) AS orders, uniqExact(user_id) AS users FROM order_events
    WHERE status = 'paid' AND toStartOfMinute(event_time) >= toDateTime({from:UInt32}, 'UTC') AND toStartOfMinute(event_time) < toDateTime({to:UInt32}, 'UTC')`, p)
  return r!
}

const rows: string[] = []
// 28 days, not 30: OPTIMIZE FINAL applies the minute cube's 30-day TTL, which counts from now, not from the data's end.
for (const c of [sales(1), sales(28), tod]) {
  const truth = await raw(c.days)
  const times = READS.map(() => [] as number[])
  const counts = READS.map(() => ({}) as Record<string, number>)
  for (let i = 0; i < 15; i++) {
    for (const [k, r] of READS.entries()) {
      const t = performance.now()
      counts[k] = await c.run(r)
      times[k]!.push(performance.now() - t)
    }
  }
  for (const [k, r] of READS.entries()) {
    const ts = [...times[k]!].sort((a, b) => a - b)
    const got = counts[k]!
    const users = got.users === undefined ? '—' : `${fmt(got.users)} (${fmt(truth.users!)})`
    rows.push(`| ${c.label} | ${r.label} | ${ts[7]!.toFixed(1)} | ${ts.at(-1)!.toFixed(1)} | ${fmt(got.orders!)} (${fmt(truth.orders!)}) | ${users} |`)
  }
  console.log(rows.slice(-READS.length).join('\n'))
}
for (const v of VARIANTS) for (const grain of ['minute', 'hour', 'day']) await cmd(`DROP TABLE exact_${v.name}_${grain}`)
await ch.close()

writeSection(
  'api-exact',
  `### API: what exact distinct counts cost without a dictionary, and orders as a sum (issue 20, 2026-12-08)

Question: the gmv cube's distinct counts are \`uniq\` states — approximate above 65,536 values, and as costly to merge as the raw ids. What would exact states cost, and what does counting orders with \`paid_orders\` (each paid order once, on its first line's row; migration 13) buy?
Command: \`BENCH_DATA_DIR=<dir> npx tsx bench/api-exact.ts\` after \`BENCH_DATA_DIR=<dir> npx tsx bench/api.ts\` — ${machine()}; data of that fill (${fmt(filled.events)} events, ${filled.settings}); one query at a time (a sales overview's two queries in parallel, as the API runs them), 15 rounds in turn; \`to\` off the minute, so the minute tables answer (a previous period before the data is composed from the rollups). The variant tables are built here from the raw facts through the live view's own query with its states swapped; every table merged (OPTIMIZE FINAL) first. Counts in brackets: uniqExact over the raw facts.

| read | cube | ms (p50) | ms (max) | orders | paying users |
|---|---|---:|---:|---:|---:|
${rows.join('\n')}

Reading: an exact set per row costs several times a \`uniq\` state to merge: \`uniqExact\` keeps every 128-bit hash, and roaring bitmaps over 64-bit hashes hold one container per value (dense ordinals from a dictionary are what makes them cheap, section above). Orders need no set: an order is paid once, in one minute, community and leader, so a sum over its first line's row counts it exactly wherever the read does not split it by category — and time of day, which reads orders and GMV only, becomes sums alone. Paying users, refunded and cancelled orders stay \`uniq\` states.`,
)

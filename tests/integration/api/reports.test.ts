import { describe, expect, it } from 'vitest'
import { GMV_CUBE, cubeRange, measureList } from '../../../queries/index.js'
import { insertRows } from '../../../sinks/index.js'
import { apiSuite, DAY_START, iso } from './fixture.js'

/*
 * Every report, read through the API from cubes the real pipelines filled, against plain SQL over
 * the raw events (exact distinct counts: uniqExact on the oracle side). Ranges are chosen so that
 * each cube grain answers at least once: hour-aligned (hour rollups), minute-aligned only
 * (minute cubes), a whole UTC day (day rollups).
 */

const MIN = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
const R_HOUR = { from: DAY_START + HOUR, to: DAY_START + 7 * HOUR }
const R_MIN = { from: DAY_START + HOUR + 7 * MIN, to: DAY_START + 6 * HOUR + 33 * MIN }
const R_DAY = { from: DAY_START, to: DAY_START + DAY }
const q = (r: { from: number; to: number }) => `from=${iso(r.from)}&to=${iso(r.to)}`
const secs = (r: { from: number; to: number }) => ({ f: r.from / 1000, t: r.to / 1000 })
const IN_RANGE = `toStartOfMinute(event_time) >= toDateTime({f:UInt32}, 'UTC') AND toStartOfMinute(event_time) < toDateTime({t:UInt32}, 'UTC')`

describe('reports equal plain SQL over the raw events', () => {
  const s = apiSuite('api_reports')

  async function salesOracle(r: { from: number; to: number }, communities: string[] = [], categories: string[] = []) {
    const p = { ...secs(r), c: communities, k: categories }
    const [paid] = await s.sql(`
      SELECT sum(q * pr) AS gmv_cents, sum(q) AS items, uniqExact(order_id) AS orders, uniqExact(user_id) AS paying_users
      FROM order_events ARRAY JOIN line_qty AS q, line_unit_price_cents AS pr, line_category_id AS cat
      WHERE status = 'paid' AND ${IN_RANGE} AND (empty({c:Array(String)}) OR has({c:Array(String)}, community_id)) AND (empty({k:Array(String)}) OR has({k:Array(String)}, cat))`, p)
    const [other] = await s.sql(`
      SELECT sumIf(ifNull(refund_cents, 0), status = 'refunded') AS refund_cents, uniqExactIf(order_id, status = 'refunded') AS refunded_orders, uniqExactIf(order_id, status = 'cancelled') AS cancelled_orders
      FROM order_events WHERE ${IN_RANGE} AND (empty({c:Array(String)}) OR has({c:Array(String)}, community_id))`, p)
    return { ...paid, ...other } as { gmv_cents: number; items: number; orders: number; paying_users: number; refund_cents: number; refunded_orders: number; cancelled_orders: number }
  }

  it('the fill produced a day of orders, behaviour and lifecycle steps', async () => {
    expect(s.events).toBeGreaterThan(20_000)
    const [n] = await s.sql(`SELECT countIf(status = 'paid') AS paid, countIf(status = 'delivered') AS delivered, countIf(status = 'complaint') AS complaints FROM order_events`)
    expect(Number(n?.paid)).toBeGreaterThan(1000)
    expect(Number(n?.delivered)).toBeGreaterThan(500)
  })

  it('sales overview: totals, previous period and change, on the hour, minute and day grains', async () => {
    for (const [r, table] of [[R_HOUR, 'gmv_hour'], [R_MIN, 'gmv_minute'], [R_DAY, 'gmv_day']] as const) {
      const res = await s.get(`/v1/sales/overview?${q(r)}`)
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      const o = await salesOracle(r)
      expect(o.orders).toBeGreaterThan(0)
      expect(res.body.range.table).toBe(table)
      const t = res.body.totals
      expect({ gmv_cents: t.gmv_cents, items: t.items, orders: t.orders, paying_users: t.paying_users, refund_cents: t.refund_cents, refunded_orders: t.refunded_orders, cancelled_orders: t.cancelled_orders }).toEqual(o)
      expect(t.avg_order_value_cents).toBe(Math.round(o.gmv_cents / o.orders))
    }
    const res = await s.get(`/v1/sales/overview?${q(R_HOUR)}`)
    const prev = await salesOracle({ from: R_HOUR.from - (R_HOUR.to - R_HOUR.from), to: R_HOUR.from })
    expect(prev.orders).toBeGreaterThan(0)
    expect(res.body.previous.orders).toBe(prev.orders)
    expect(res.body.previous.gmv_cents).toBe(prev.gmv_cents)
    expect(res.body.change.gmv_cents).toBeCloseTo((res.body.totals.gmv_cents - prev.gmv_cents) / prev.gmv_cents, 12)
  })

  it('a range older than the minute cubes\' retention is composed from minutes at its edges, hours and days: equal to the oracle', async () => {
    // As the API would read these ranges 40 days from now (CubeRange composes them; one table did not).
    const later = DAY_START + 40 * DAY
    const R_WIDE = { from: DAY_START - 7 * MIN, to: DAY_START + DAY + 7 * MIN }
    for (const [r, tables] of [[R_MIN, 'gmv_hour+gmv_minute'], [R_WIDE, 'gmv_day+gmv_minute'], [R_HOUR, 'gmv_hour']] as const) {
      const range = cubeRange(GMV_CUBE, r.from, r.to, 'day', { now: later })
      expect(range.tables).toBe(tables)
      const { sql, params } = range.sql('t')
      const [cube] = await s.sql(`SELECT ${measureList(GMV_CUBE)} FROM ${sql}`, params)
      const o = await salesOracle(r)
      expect(o.orders).toBeGreaterThan(0)
      expect(Object.fromEntries(Object.keys(o).map((k) => [k, Number(cube?.[k])]))).toEqual(o)
    }
  })

  it('sales overview: community, leader and category filters, the series and the per-community breakdown', async () => {
    const filtered = await s.get(`/v1/sales/overview?${q(R_MIN)}&community=c-001,c-003&category=fruit,meat`)
    const o = await salesOracle(R_MIN, ['c-001', 'c-003'], ['fruit', 'meat'])
    expect(o.orders).toBeGreaterThan(0)
    expect(filtered.body.totals.gmv_cents).toBe(o.gmv_cents)
    expect(filtered.body.totals.orders).toBe(o.orders)
    expect(filtered.body.totals.paying_users).toBe(o.paying_users)

    const [leader] = await s.sql<{ leader_id: string; n: number }>(`SELECT leader_id, count() AS n FROM order_events WHERE status = 'paid' GROUP BY leader_id ORDER BY n DESC, leader_id LIMIT 1`)
    const byLeader = await s.get(`/v1/sales/overview?${q(R_HOUR)}&leader=${leader?.leader_id}`)
    const [lo] = await s.sql(`SELECT uniqExact(order_id) AS orders, sum(amount_cents) AS gmv FROM order_events WHERE status = 'paid' AND leader_id = {l:String} AND ${IN_RANGE}`, { ...secs(R_HOUR), l: leader?.leader_id })
    expect(byLeader.body.totals.orders).toBe(lo?.orders)
    expect(byLeader.body.totals.gmv_cents).toBe(lo?.gmv)

    const series = await s.get(`/v1/sales/overview?${q(R_HOUR)}&granularity=hour&by=community`)
    expect(series.body.series.points).toHaveLength(6)
    const oracleSeries = await s.sql<{ t: number; gmv: number; orders: number }>(`
      SELECT toUnixTimestamp(toStartOfHour(event_time)) * 1000 AS t, sum(amount_cents) AS gmv, uniqExact(order_id) AS orders
      FROM order_events WHERE status = 'paid' AND ${IN_RANGE} GROUP BY t ORDER BY t`, secs(R_HOUR))
    expect(series.body.series.points.map((p: { t: string; gmv_cents: number; orders: number }) => ({ t: Date.parse(p.t), gmv: p.gmv_cents, orders: p.orders }))).toEqual(oracleSeries)
    const oracleCommunities = await s.sql<{ community_id: string; gmv_cents: number; orders: number }>(`
      SELECT community_id, sum(amount_cents) AS gmv_cents, uniqExact(order_id) AS orders FROM order_events WHERE status = 'paid' AND ${IN_RANGE}
      GROUP BY community_id ORDER BY gmv_cents DESC, community_id`, secs(R_HOUR))
    expect(series.body.communities.map((c: { community_id: string; gmv_cents: number; orders: number }) => ({ community_id: c.community_id, gmv_cents: c.gmv_cents, orders: c.orders }))).toEqual(oracleCommunities)

    // A range may end at any instant: a bucket counts when its start is inside [from, to).
    const ragged = { from: R_MIN.from - 59_500, to: R_MIN.to + 250 }
    const raggedRes = await s.get(`/v1/sales/overview?${q(ragged)}`)
    expect(raggedRes.status, JSON.stringify(raggedRes.body)).toBe(200)
    expect(raggedRes.body.totals.gmv_cents).toBe((await salesOracle({ from: R_MIN.from - 59_000, to: R_MIN.to + 60_000 })).gmv_cents)

    const minuteSeries = await s.get(`/v1/sales/overview?${q(R_MIN)}&granularity=minute`)
    expect(minuteSeries.body.series.points).toHaveLength((R_MIN.to - R_MIN.from) / MIN)
    const sum = minuteSeries.body.series.points.reduce((n: number, p: { gmv_cents: number }) => n + p.gmv_cents, 0)
    expect(sum).toBe((await salesOracle(R_MIN)).gmv_cents)
  })

  it('product ranking: TOP-N by GMV and by quantity, per category; hot products of the last 60 minutes', async () => {
    const oracle = (r: { from: number; to: number }, by: 'g' | 'qty', cats: string[], limit: number) =>
      s.sql(`
        SELECT sku, cat AS category_id, sum(q) AS qty, sum(q * pr) AS gmv_cents, uniqExact(order_id) AS orders
        FROM order_events ARRAY JOIN line_sku AS sku, line_category_id AS cat, line_qty AS q, line_unit_price_cents AS pr
        WHERE status = 'paid' AND ${IN_RANGE} AND (empty({k:Array(String)}) OR has({k:Array(String)}, cat))
        GROUP BY sku, category_id ORDER BY ${by === 'qty' ? 'qty' : 'gmv_cents'} DESC, sku LIMIT {n:UInt32}`, { ...secs(r), k: cats, n: limit })
    const strip = (ps: Record<string, unknown>[]) => ps.map(({ rank: _rank, ...p }) => p)

    const top = await s.get(`/v1/products/top?${q(R_MIN)}&limit=20`)
    expect(top.status).toBe(200)
    expect(top.body.products.map((p: { rank: number }) => p.rank)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(strip(top.body.products)).toEqual(await oracle(R_MIN, 'g', [], 20))

    const byQty = await s.get(`/v1/products/top?${q(R_HOUR)}&by=qty&category=fruit,vegetables&limit=100`)
    const expected = await oracle(R_HOUR, 'qty', ['fruit', 'vegetables'], 100)
    expect(expected.length).toBeGreaterThan(0)
    expect(strip(byQty.body.products)).toEqual(expected)

    const hot = await s.get('/v1/products/hot?window=60&limit=5')
    // The API's clock is the end of the data: the last 60 minute buckets, the current one included.
    const to = Math.floor(s.end / MIN) * MIN + MIN
    const hotOracle = await oracle({ from: to - 60 * MIN, to }, 'g', [], 5)
    expect(hotOracle.length).toBe(5)
    expect(hot.body.window_minutes).toBe(60)
    expect(strip(hot.body.products)).toEqual(hotOracle)
  })

  it('group-leader performance: orders, GMV, durations p50/p90, late deliveries, complaints and their top reasons', async () => {
    const res = await s.get(`/v1/leaders/performance?${q(R_HOUR)}&sort=orders&limit=1000`)
    expect(res.status).toBe(200)
    const f = R_HOUR.from
    const t = R_HOUR.to
    const life = await s.sql<Record<string, unknown>>(`
      SELECT community_id, leader_id, count() AS paid_orders, countIf(d IS NOT NULL) AS delivered,
             countIf(d IS NOT NULL AND dateDiff('second', p, assumeNotNull(d)) > 14400) AS late_deliveries,
             quantilesExactIf(0.5, 0.9)(dateDiff('second', p, assumeNotNull(a)), a IS NOT NULL) AS aq,
             quantilesExactIf(0.5, 0.9)(dateDiff('second', assumeNotNull(a), assumeNotNull(so)), a IS NOT NULL AND so IS NOT NULL) AS sq,
             quantilesExactIf(0.5, 0.9)(dateDiff('second', assumeNotNull(so), assumeNotNull(d)), so IS NOT NULL AND d IS NOT NULL) AS dq
      FROM (SELECT order_id, community_id, leader_id, assumeNotNull(minIf(toNullable(event_time), status = 'paid')) AS p,
                   minIf(toNullable(event_time), status = 'accepted') AS a, minIf(toNullable(event_time), status = 'sorted') AS so,
                   minIf(toNullable(event_time), status = 'delivered') AS d
            FROM order_events GROUP BY order_id, community_id, leader_id
            HAVING countIf(status = 'paid') > 0 AND p >= fromUnixTimestamp64Milli({f:Int64}, 'UTC') AND p < fromUnixTimestamp64Milli({t:Int64}, 'UTC'))
      GROUP BY community_id, leader_id`, { f, t })
    const gmv = await s.sql<Record<string, unknown>>(`SELECT leader_id, sum(amount_cents) AS gmv, uniqExact(order_id) AS orders FROM order_events WHERE status = 'paid' AND ${IN_RANGE} GROUP BY leader_id`, secs(R_HOUR))
    const complaints = await s.sql<{ leader_id: string; reason: string; n: number }>(`
      SELECT leader_id, assumeNotNull(complaint_reason) AS reason, count() AS n FROM order_events WHERE status = 'complaint' AND ${IN_RANGE} GROUP BY leader_id, reason`, secs(R_HOUR))
    expect(life.length).toBeGreaterThan(10)
    const byId = new Map(res.body.leaders.map((l: { leader_id: string }) => [l.leader_id, l]))
    // Leaders appear for any of GMV, paid orders or complaints in range.
    expect(byId.size).toBe(new Set([...life.map((l) => l.leader_id), ...gmv.map((g) => g.leader_id), ...complaints.map((c) => c.leader_id)]).size)
    let lateSeen = 0
    for (const l of life) {
      const got = byId.get(l.leader_id as string) as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(got, String(l.leader_id)).toBeDefined()
      expect(got.community_id).toBe(l.community_id)
      expect({ paid: got.paid_orders, delivered: got.delivered, late: got.late_deliveries }).toEqual({ paid: l.paid_orders, delivered: l.delivered, late: l.late_deliveries })
      const aq = l.aq as number[]
      if (got.accept_seconds.p50 !== null) expect([got.accept_seconds.p50, got.accept_seconds.p90]).toEqual(aq)
      if (Number(l.delivered) > 0) expect([got.deliver_seconds.p50, got.deliver_seconds.p90]).toEqual(l.dq)
      else expect(got.deliver_seconds).toEqual({ p50: null, p90: null })
      lateSeen += Number(l.late_deliveries)
    }
    expect(lateSeen).toBeGreaterThan(0)
    for (const g of gmv) {
      const got = byId.get(g.leader_id as string) as { gmv_cents: number; orders: number }
      expect({ gmv: got.gmv_cents, orders: got.orders }).toEqual({ gmv: g.gmv, orders: g.orders })
    }
    const reasons = new Map<string, { reason: string; complaints: number }[]>()
    for (const c of complaints) reasons.set(c.leader_id, [...(reasons.get(c.leader_id) ?? []), { reason: c.reason, complaints: c.n }])
    for (const [leader, rs] of reasons) {
      const got = byId.get(leader) as { complaints: number; top_complaint_reasons: unknown[]; complaint_rate: number | null; paid_orders: number }
      rs.sort((a, b) => b.complaints - a.complaints || a.reason.localeCompare(b.reason))
      expect(got.top_complaint_reasons).toEqual(rs.slice(0, 5))
      expect(got.complaints).toBe(rs.reduce((n, r) => n + r.complaints, 0))
    }
    // The ranking: by orders, descending.
    const orders = res.body.leaders.map((l: { orders: number }) => l.orders)
    expect(orders).toEqual([...orders].sort((a: number, b: number) => b - a))
  })

  it('activity: active users, events by action and the view → cart → order funnel', async () => {
    const res = await s.get(`/v1/activity?${q(R_MIN)}&granularity=hour`)
    expect(res.status).toBe(200)
    const UNION = `SELECT action, user_id, event_time FROM behaviour_events WHERE ${IN_RANGE}
                   UNION ALL SELECT 'order', user_id, event_time FROM order_events WHERE status = 'created' AND ${IN_RANGE}`
    const [all] = await s.sql(`SELECT uniqExact(user_id) AS users, count() AS events FROM (${UNION})`, secs(R_MIN))
    const actions = await s.sql(`SELECT action, count() AS events, uniqExact(user_id) AS users FROM (${UNION}) GROUP BY action ORDER BY action`, secs(R_MIN))
    expect(res.body.active_users).toBe(all?.users)
    expect(res.body.events).toBe(all?.events)
    expect(res.body.actions).toEqual(actions)
    const users = (a: string) => Number(actions.find((x) => x.action === a)?.users ?? 0)
    expect(res.body.funnel.steps).toEqual([{ step: 'view', users: users('view') }, { step: 'cart_add', users: users('cart_add') }, { step: 'order', users: users('order') }])
    expect(res.body.funnel.view_to_order).toBeCloseTo(users('order') / users('view'), 12)
    const perHour = await s.sql<{ t: number; users: number }>(`SELECT toUnixTimestamp(toStartOfHour(event_time)) * 1000 AS t, uniqExact(user_id) AS users FROM (${UNION}) GROUP BY t ORDER BY t`, secs(R_MIN))
    expect(res.body.series.points.map((p: { t: string; active_users: number }) => ({ t: Date.parse(p.t), users: p.active_users }))).toEqual(perHour)
  })

  it('heatmap: cells of the zoom\'s resolution inside the bounding box, as cells and as GeoJSON', async () => {
    const bbox = [120.1, 30.2, 120.25, 30.3]
    const res = await s.get(`/v1/heatmap?${q(R_HOUR)}&bbox=${bbox.join(',')}&zoom=13&metric=gmv&limit=10000`)
    expect(res.status).toBe(200)
    expect(res.body.precision).toBe(6)
    const oracle = await s.sql(`
      SELECT cell, sum(paid) AS orders, sum(amount) AS gmv_cents, uniqExact(user_id) AS users FROM (
        SELECT geohashEncode(assumeNotNull(lon), assumeNotNull(lat), 6) AS cell, user_id, 0 AS paid, toUInt64(0) AS amount FROM behaviour_events WHERE lat IS NOT NULL AND ${IN_RANGE}
        UNION ALL SELECT geohashEncode(delivery_lon, delivery_lat, 6), user_id, 1, amount_cents FROM order_events WHERE status = 'paid' AND ${IN_RANGE})
      WHERE (geohashDecode(cell) AS ll).1 >= {w:Float64} AND ll.1 <= {e:Float64} AND ll.2 >= {s:Float64} AND ll.2 <= {n:Float64}
      GROUP BY cell ORDER BY gmv_cents DESC, cell`, { ...secs(R_HOUR), w: bbox[0], s: bbox[1], e: bbox[2], n: bbox[3] })
    expect(oracle.length).toBeGreaterThan(5)
    expect(res.body.cells.map((c: Record<string, unknown>) => ({ cell: c.cell, orders: c.orders, gmv_cents: c.gmv_cents, users: c.users }))).toEqual(oracle)
    for (const c of res.body.cells) {
      expect(c.lon).toBeGreaterThanOrEqual(bbox[0] as number)
      expect(c.lat).toBeLessThanOrEqual(bbox[3] as number)
    }
    const geo = await s.get(`/v1/heatmap?${q(R_HOUR)}&bbox=${bbox.join(',')}&zoom=11&format=geojson`)
    expect(geo.body.type).toBe('FeatureCollection')
    expect(geo.body.precision).toBe(5)
    const f = geo.body.features[0]
    expect(f.geometry.type).toBe('Polygon')
    expect(f.geometry.coordinates[0]).toHaveLength(5)
    const [lon, lat] = [f.properties.lon, f.properties.lat]
    const [[w, so], , [e, n]] = f.geometry.coordinates[0]
    expect(lon > w && lon < e && lat > so && lat < n).toBe(true)
  })

  it('ingest status and freshness: raw events per table, the newest minute in the cubes', async () => {
    const status = await s.get('/v1/ingest/status')
    const raw = await s.sql<{ table: string; events: number; latest: number }>(`SELECT * FROM (
      SELECT 'behaviour_events' AS table, count() AS events, toUnixTimestamp64Milli(max(event_time)) AS latest FROM behaviour_events
      UNION ALL SELECT 'inventory_events', count(), toUnixTimestamp64Milli(max(event_time)) FROM inventory_events
      UNION ALL SELECT 'order_events', count(), toUnixTimestamp64Milli(max(event_time)) FROM order_events) ORDER BY table`)
    expect(status.body.tables).toEqual(raw.map((r) => ({ table: r.table, events: r.events, latestEventTime: iso(r.latest) })))
    const fresh = await s.get('/v1/freshness')
    const [latest] = await s.sql<{ m: number }>(`SELECT toUnixTimestamp(max(m)) * 1000 AS m FROM (
      SELECT max(toStartOfMinute(event_time)) AS m FROM behaviour_events UNION ALL SELECT max(toStartOfMinute(event_time)) FROM order_events WHERE status = 'created')`)
    expect(fresh.body.latest_minute).toBe(iso(latest?.m as number))
    expect(fresh.body.watermark).toBeNull() // the generator source publishes no watermarks
  })

  it('data quality: records, dead-letter rate by code, duplicate and late rates per topic; silent communities', async () => {
    const minute = Math.floor(s.end / MIN) * MIN
    const rs = await s.sql<{ topic: string; n: number }>(`SELECT topic, sum(events) AS n FROM quality_minute WHERE kind = 'records' GROUP BY topic ORDER BY topic`)
    expect(rs.reduce((n, r) => n + Number(r.n), 0)).toBe(s.events)
    // Planted on top of the generated counts: dead letters of two codes on the orders stream.
    await insertRows(s.ch, 'quality_minute', [
      { window_start: minute / 1000, pipeline_set: 'p', topic: 'generator.orders', kind: 'records', code: '', events: 100 },
      { window_start: minute / 1000, pipeline_set: 'p', topic: 'generator.orders', kind: 'dead_letter', code: 'DECODE_SCHEMA', events: 3 },
      { window_start: minute / 1000, pipeline_set: 'p', topic: 'generator.orders', kind: 'dead_letter', code: 'DECODE_JSON', events: 7 },
      { window_start: minute / 1000, pipeline_set: 'p', topic: 'generator.orders', kind: 'accepted', code: '', events: 88 },
      { window_start: minute / 1000, pipeline_set: 'p', topic: 'generator.orders', kind: 'duplicate', code: '', events: 2 },
      { window_start: minute / 1000, pipeline_set: 'p', topic: 'generator.orders', kind: 'schema', code: 'confluent-avro:2', events: 60 },
      { window_start: minute / 1000, pipeline_set: 'p', topic: 'generator.orders', kind: 'schema', code: 'confluent-avro:7', events: 30 },
    ])
    const res = await s.get(`/v1/quality?from=${iso(DAY_START)}&to=${iso(s.end + 2 * HOUR)}&silentMinutes=60`, 'analyst')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const planted = res.body.topics.find((t: { pipeline_set: string }) => t.pipeline_set === 'p')
    expect(planted).toMatchObject({ topic: 'generator.orders', records: 100, dead_lettered: 10, dead_letter_rate: 0.1, duplicates: 2, duplicate_rate: 2 / 90, late_rate: 0,
      dead_letters_by_code: [{ code: 'DECODE_JSON', records: 7 }, { code: 'DECODE_SCHEMA', records: 3 }],
      schemas: [{ schema: 'confluent-avro:2', records: 60, share: 60 / 90 }, { schema: 'confluent-avro:7', records: 30, share: 30 / 90 }] })
    const generated = res.body.topics.filter((t: { pipeline_set: string }) => t.pipeline_set !== 'p')
    expect(generated.map((t: { topic: string; records: number }) => [t.topic, t.records])).toEqual(rs.map((r) => [r.topic, Number(r.n)]))
    for (const t of generated) expect(t.pipeline_set).toBe('activity,facts,gmv,heatmap,inventory,lifecycle,products')
    // The generator's records are JSON, every one decoded: one schema, all of the records.
    for (const t of generated) expect(t.schemas, t.topic).toEqual([{ schema: 'json', records: t.records, share: 1 }])
    // Two hours after the data ends, every community that was active is silent.
    const active = await s.sql<{ community_id: string; last: number }>(`SELECT community_id, toUnixTimestamp(max(m)) AS last FROM (
      SELECT community_id, toStartOfMinute(event_time) AS m FROM behaviour_events UNION ALL SELECT community_id, toStartOfMinute(event_time) FROM order_events WHERE status = 'created')
      WHERE m >= toDateTime({since:UInt32}) GROUP BY community_id ORDER BY last, community_id`, { since: (s.end + HOUR - 86_400_000) / 1000 })
    expect(res.body.silent_communities.map((c: { community_id: string; last_seen: string }) => [c.community_id, Date.parse(c.last_seen) / 1000])).toEqual(active.map((a) => [a.community_id, Number(a.last)]))
    // With the window ending at the data's end, nobody is silent.
    expect((await s.get(`/v1/quality?from=${iso(DAY_START)}&to=${iso(minute)}&silentMinutes=60`, 'analyst')).body.silent_communities).toEqual([])
    expect((await s.get('/v1/quality?silentMinutes=2', 'analyst')).body.message).toMatch(/querystring\.silentMinutes: must be 5-1440/)
    expect((await s.get('/v1/quality', 'leader')).status).toBe(403)
  })

  it('repurchase rate: users who paid twice among those who paid, per community and city-wide, weekly trend', async () => {
    const to = s.end
    const res = await s.get(`/v1/repurchase?to=${iso(to)}&days=1&weeks=2`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const oracle = (perCommunity: boolean) => s.sql<{ g: string; buyers: number; repeaters: number }>(`
      SELECT grp AS g, count() AS buyers, countIf(n >= 2) AS repeaters FROM (
        SELECT ${perCommunity ? 'community_id' : "''"} AS grp, user_id, count() AS n FROM (
          SELECT order_id, any(community_id) AS community_id, any(user_id) AS user_id, minIf(event_time, status = 'paid') AS p FROM order_events
          GROUP BY order_id HAVING countIf(status = 'paid') > 0 AND p >= fromUnixTimestamp64Milli({f:Int64}, 'UTC') AND p < fromUnixTimestamp64Milli({t:Int64}, 'UTC'))
        GROUP BY grp, user_id)
      GROUP BY grp ORDER BY grp`, { f: to - 86_400_000, t: to })
    const [city] = await oracle(false)
    expect(city?.repeaters).toBeGreaterThan(0)
    expect({ buyers: res.body.city.buyers, repeaters: res.body.city.repeaters }).toEqual({ buyers: city?.buyers, repeaters: city?.repeaters })
    expect(res.body.city.rate).toBeCloseTo((city?.repeaters ?? 0) / (city?.buyers ?? 1), 12)
    const perCommunity = await oracle(true)
    expect(res.body.communities.map((c: { community_id: string; buyers: number; repeaters: number }) => ({ g: c.community_id, buyers: c.buyers, repeaters: c.repeaters }))).toEqual(perCommunity)
    // The week before holds no data: the trend's second point is empty.
    expect(res.body.city.trend).toHaveLength(2)
    expect(res.body.city.trend[1]).toMatchObject({ buyers: 0, repeaters: 0, rate: null })
    expect((await s.get('/v1/repurchase?days=0')).body.message).toMatch(/querystring\.days: must be 1-180/)
    const mine = await s.get(`/v1/repurchase?to=${iso(to)}&days=1&weeks=1`, 'leader')
    expect(mine.body.communities.map((c: { community_id: string }) => c.community_id)).toEqual(['c-001', 'c-002'])
  })

  it('expiry warnings on generated stock: every batch on hand is assessed, at-risk units add up', async () => {
    const res = await s.get(`/v1/expiry?at=${iso(s.end)}&all=true`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const [held] = await s.sql<{ n: number }>(`SELECT count() AS n FROM (
      SELECT warehouse_id, sku, batch_id, sumIf(qty, kind = 'receipt') AS r, sumIf(qty, kind IN ('sale', 'loss')) AS out
      FROM inventory_events WHERE batch_id IS NOT NULL GROUP BY ALL HAVING r > out)`)
    expect(res.body.summary.batches).toBe(Number(held?.n))
    expect(res.body.summary.at_risk_units).toBe(res.body.batches.reduce((n: number, b: { at_risk: number }) => n + b.at_risk, 0))
  })

  it('community profile: category mix, price bands, dayparts, basket and new users against the city', async () => {
    const res = await s.get(`/v1/communities/c-003/profile?${q(R_DAY)}&tz=Asia/Shanghai`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const p = secs(R_DAY)
    const cats = await s.sql<{ c: string; mine: number; all: number }>(`
      SELECT cat AS c, sumIf(q * pr, community_id = 'c-003') AS mine, sum(q * pr) AS all
      FROM order_events ARRAY JOIN line_category_id AS cat, line_qty AS q, line_unit_price_cents AS pr WHERE status = 'paid' AND ${IN_RANGE}
      GROUP BY c ORDER BY all DESC, c`, p)
    const mineTotal = cats.reduce((n, c) => n + Number(c.mine), 0)
    const allTotal = cats.reduce((n, c) => n + Number(c.all), 0)
    expect(res.body.categories.map((c: { category_id: string; gmv_cents: number; city_share: number }) => [c.category_id, c.gmv_cents, c.city_share]))
      .toEqual(cats.map((c) => [c.c, Number(c.mine), Number(c.all) / allTotal]))
    expect(res.body.categories.reduce((n: number, c: { share: number | null }) => n + (c.share ?? 0), 0)).toBeCloseTo(mineTotal ? 1 : 0, 9)
    const [b] = await s.sql<{ g: number; o: number; ga: number; oa: number }>(`
      SELECT sumIf(amount_cents, community_id = 'c-003') AS g, uniqExactIf(order_id, community_id = 'c-003') AS o, sum(amount_cents) AS ga, uniqExact(order_id) AS oa
      FROM order_events WHERE status = 'paid' AND ${IN_RANGE}`, p)
    expect(res.body.basket).toEqual({ orders: Number(b?.o), avg_basket_cents: Math.round(Number(b?.g) / Number(b?.o)), city_avg_basket_cents: Math.round(Number(b?.ga) / Number(b?.oa)) })
    const hours = await s.sql<{ h: number; n: number }>(`SELECT toHour(event_time, 'Asia/Shanghai') AS h, uniqExact(order_id) AS n FROM order_events WHERE status = 'paid' AND community_id = 'c-003' AND ${IN_RANGE} GROUP BY h`, p)
    const evening = hours.filter((h) => h.h >= 18 && h.h < 22).reduce((n, h) => n + Number(h.n), 0)
    expect(res.body.dayparts.find((d: { part: string }) => d.part === 'evening').orders).toBe(evening)
    const [u] = await s.sql<{ users: number }>(`SELECT uniqExact(user_id) AS users FROM order_events WHERE status = 'paid' AND community_id = 'c-003'
      AND event_time >= fromUnixTimestamp64Milli({fm:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({tm:Int64}, 'UTC')`, { fm: R_DAY.from, tm: R_DAY.to })
    // All the generated history lies inside the day: every paying user is new.
    expect(res.body.users).toMatchObject({ paying: Number(u?.users), new: Number(u?.users), returning: 0, new_share: 1 })
    expect(res.body.price_bands.reduce((n: number, x: { share: number | null }) => n + (x.share ?? 0), 0)).toBeCloseTo(1, 9)
    expect((await s.get(`/v1/communities/c-003/profile?${q(R_DAY)}`, 'leader')).status).toBe(403)
    expect((await s.get(`/v1/communities/c-001/profile?${q(R_DAY)}`, 'leader')).body.compared_with).toBe('the communities of this key')
    expect((await s.get(`/v1/communities/c-001/profile?tz=Nowhere/Else`)).body.message).toMatch(/querystring\.tz: not an IANA time zone/)
    // Dayparts in a zone half an hour off whole hours come out exact too (from the minute cubes).
    const kolkata = await s.get(`/v1/communities/c-003/profile?${q(R_DAY)}&tz=Asia/Kolkata`)
    const kHours = await s.sql<{ h: number; n: number }>(`SELECT toHour(event_time, 'Asia/Kolkata') AS h, uniqExact(order_id) AS n FROM order_events WHERE status = 'paid' AND community_id = 'c-003' AND ${IN_RANGE} GROUP BY h`, p)
    for (const d of kolkata.body.dayparts as { part: string; hours: string; orders: number }[]) {
      const [from, to] = d.hours.split('-').map(Number) as [number, number]
      expect(d.orders, d.part).toBe(kHours.filter((h) => h.h >= from && h.h < to).reduce((n, h) => n + Number(h.n), 0))
    }
  })

  it('time of day: orders per local hour, weekday and weekend curves, per-day averages', async () => {
    const res = await s.get(`/v1/time-of-day?${q(R_DAY)}&tz=Asia/Shanghai`)
    expect(res.status).toBe(200)
    const oracle = await s.sql<{ weekend: number; hour: number; orders: number; gmv: number }>(`
      SELECT toDayOfWeek(event_time, 0, 'Asia/Shanghai') >= 6 AS weekend, toHour(event_time, 'Asia/Shanghai') AS hour, uniqExact(order_id) AS orders, sum(amount_cents) AS gmv
      FROM order_events WHERE status = 'paid' AND ${IN_RANGE} GROUP BY weekend, hour`, secs(R_DAY))
    expect(oracle.length).toBeGreaterThan(5)
    const got = [...res.body.weekday.map((h: Record<string, number>) => ({ ...h, weekend: 0 })), ...res.body.weekend.map((h: Record<string, number>) => ({ ...h, weekend: 1 }))].filter((h) => h.orders > 0)
    expect(got.map((h) => ({ weekend: h.weekend, hour: h.hour, orders: h.orders, gmv: h.gmv_cents })).sort((a, b) => a.weekend - b.weekend || a.hour - b.hour))
      .toEqual(oracle.map((o) => ({ weekend: Number(o.weekend), hour: o.hour, orders: o.orders, gmv: o.gmv })).sort((a, b) => a.weekend - b.weekend || a.hour - b.hour))
    // One UTC day spans two local days (08:00 to 08:00 next day).
    expect(res.body.weekdays + res.body.weekend_days).toBe(2)
  })

  it('time of day in a zone half an hour off whole hours (Asia/Kolkata, +5:30) is exact too', async () => {
    const res = await s.get(`/v1/time-of-day?${q(R_DAY)}&tz=Asia/Kolkata`)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const oracle = await s.sql<{ weekend: number; hour: number; orders: number }>(`
      SELECT toDayOfWeek(event_time, 0, 'Asia/Kolkata') >= 6 AS weekend, toHour(event_time, 'Asia/Kolkata') AS hour, uniqExact(order_id) AS orders
      FROM order_events WHERE status = 'paid' AND ${IN_RANGE} GROUP BY weekend, hour`, secs(R_DAY))
    const got = [...res.body.weekday.map((h: Record<string, number>) => ({ ...h, weekend: 0 })), ...res.body.weekend.map((h: Record<string, number>) => ({ ...h, weekend: 1 }))].filter((h) => h.orders > 0)
    expect(got.map((h) => ({ weekend: h.weekend, hour: h.hour, orders: h.orders })).sort((a, b) => a.weekend - b.weekend || a.hour - b.hour))
      .toEqual(oracle.map((o) => ({ weekend: Number(o.weekend), hour: o.hour, orders: o.orders })).sort((a, b) => a.weekend - b.weekend || a.hour - b.hour))
    // Its curves come from the minute cubes: a range older than they keep is refused, naming from.
    const old = await s.get(`/v1/time-of-day?from=${iso(s.end - 40 * 86_400_000)}&to=${iso(s.end)}&tz=Asia/Kolkata`)
    expect(old.status).toBe(400)
    expect(old.body.message).toMatch(/^querystring\.from: Asia\/Kolkata is not a whole number of hours from UTC/)
    expect((await s.get(`/v1/time-of-day?from=${iso(s.end - 40 * 86_400_000)}&to=${iso(s.end)}&tz=Asia/Shanghai`)).status).toBe(200)
  })
})

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EventGenerator } from '../../../generator/index.js'
import { apiSuite, DAY_START, iso } from './fixture.js'

/*
 * Keys, roles, row scope and personal data, against cubes the pipelines filled; and a 400 naming
 * the field for a bad parameter of every endpoint.
 */

const HOUR = 3_600_000
/** A frame file that places one community (c-001, at a made-up point): the others come from their orders. */
const FRAME_FILE = join(mkdtempSync(join(tmpdir(), 'frame-')), 'one.geojson')
writeFileSync(FRAME_FILE, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { community_id: 'c-001', name: 'Plum Garden' }, geometry: { type: 'Point', coordinates: [120.5, 30.5] } }] }))
const R = { from: DAY_START, to: DAY_START + 10 * HOUR }
const range = `from=${iso(R.from)}&to=${iso(R.to)}`
const IN_RANGE = `toStartOfMinute(event_time) >= toDateTime({f:UInt32}, 'UTC') AND toStartOfMinute(event_time) < toDateTime({t:UInt32}, 'UTC')`
const secs = { f: R.from / 1000, t: R.to / 1000 }

const ENDPOINTS = [
  `/v1/sales/overview?${range}`,
  `/v1/products/top?${range}`,
  '/v1/products/hot',
  `/v1/leaders/performance?${range}`,
  `/v1/leaders/l-001-1/late-deliveries?${range}`,
  `/v1/activity?${range}`,
  `/v1/heatmap?${range}&bbox=120,30,121,31`,
  `/v1/time-of-day?${range}`,
  '/v1/freshness',
  '/v1/ingest/status',
]

describe('access: API keys, roles, row scope in SQL, PII masking', () => {
  const s = apiSuite('api_access', { API_GEO_FRAME_FILE: FRAME_FILE })

  it('every /v1 endpoint answers 401 without a key or with an unknown key, 200 with a valid one', async () => {
    for (const path of ENDPOINTS) {
      const none = await s.get(path, null)
      expect(none.status, path).toBe(401)
      expect(none.body.code).toBe('API_UNAUTHORIZED')
      const bad = await s.get(path, null, { authorization: 'Bearer sck_not-a-key' })
      expect(bad.status, path).toBe(401)
      expect(bad.body.message).toMatch(/not valid/)
      const ok = await s.get(path, 'admin')
      expect(ok.status, `${path}: ${JSON.stringify(ok.body)}`).toBe(200)
      const bearer = await s.get(path, null, { authorization: `Bearer ${s.keys.analyst}` })
      expect(bearer.status, path).toBe(200)
    }
    // Liveness, readiness, metrics and the page need no key.
    for (const path of ['/health', '/ready', '/metrics', '/', '/docs/json']) expect((await s.get(path, null)).status, path).toBe(200)
  })

  it('a leader reads only her communities: totals are scoped in SQL, other communities are 403', async () => {
    const mine = await s.get(`/v1/sales/overview?${range}&by=community`, 'leader')
    expect(mine.status).toBe(200)
    const [o] = await s.sql(`SELECT uniqExact(order_id) AS orders, sum(amount_cents) AS gmv FROM order_events WHERE status = 'paid' AND community_id IN ('c-001', 'c-002') AND ${IN_RANGE}`, secs)
    expect(Number(o?.orders)).toBeGreaterThan(0)
    expect(mine.body.totals.orders).toBe(o?.orders)
    expect(mine.body.totals.gmv_cents).toBe(o?.gmv)
    expect(mine.body.communities.map((c: { community_id: string }) => c.community_id).sort()).toEqual(['c-001', 'c-002'])
    const all = await s.get(`/v1/sales/overview?${range}`, 'analyst')
    expect(all.body.totals.orders).toBeGreaterThan(mine.body.totals.orders)

    const other = await s.get(`/v1/sales/overview?${range}&community=c-001,c-003`, 'leader')
    expect(other.status).toBe(403)
    expect(other.body).toMatchObject({ code: 'API_FORBIDDEN', message: expect.stringMatching(/community c-003 is outside the scope of key leader-1/) })

    const leaders = await s.get(`/v1/leaders/performance?${range}`, 'leader')
    expect(new Set(leaders.body.leaders.map((l: { community_id: string }) => l.community_id))).toEqual(new Set(['c-001', 'c-002']))
    const cells = await s.get(`/v1/heatmap?${range}&bbox=120,30,121,31`, 'leader')
    const [cellOracle] = await s.sql(`SELECT sum(amount_cents) AS g FROM order_events WHERE status = 'paid' AND community_id IN ('c-001', 'c-002') AND ${IN_RANGE}`, secs)
    expect(cells.body.cells.reduce((n: number, c: { gmv_cents: number }) => n + c.gmv_cents, 0)).toBe(cellOracle?.g)
    const products = await s.get(`/v1/products/top?${range}&limit=100`, 'leader')
    const [po] = await s.sql(`SELECT sum(amount_cents) AS g FROM order_events WHERE status = 'paid' AND community_id IN ('c-001', 'c-002') AND ${IN_RANGE}`, secs)
    // Every product of her communities (there are fewer than 100) adds up to her GMV.
    expect(products.body.products.reduce((n: number, p: { gmv_cents: number }) => n + p.gmv_cents, 0)).toBe(po?.g)
    // Another community's leader: the scope in SQL leaves nothing to see.
    const foreign = await s.get(`/v1/leaders/l-005-1/late-deliveries?${range}`, 'leader')
    expect(foreign.status).toBe(200)
    expect(foreign.body.orders).toEqual([])
  })

  it('a supplier reads only his SKUs, and only the product reports', async () => {
    const top = await s.get(`/v1/products/top?${range}&limit=100`, 'supplier')
    expect(top.status).toBe(200)
    const oracle = await s.sql(`
      SELECT sku, sum(q * pr) AS gmv_cents FROM order_events ARRAY JOIN line_sku AS sku, line_qty AS q, line_unit_price_cents AS pr
      WHERE status = 'paid' AND sku IN ('sku-0001', 'sku-0004') AND ${IN_RANGE} GROUP BY sku ORDER BY gmv_cents DESC, sku`, secs)
    expect(oracle.length).toBeGreaterThan(0)
    expect(top.body.products.map((p: { sku: string; gmv_cents: number }) => ({ sku: p.sku, gmv_cents: p.gmv_cents }))).toEqual(oracle)
    expect((await s.get(`/v1/products/top?${range}&sku=sku-0002`, 'supplier')).status).toBe(403)
    expect((await s.get('/v1/products/hot?window=60', 'supplier')).status).toBe(200)
    for (const path of ENDPOINTS.filter((p) => /sales|leaders|activity|heatmap|time-of-day/.test(p))) {
      const res = await s.get(path, 'supplier')
      expect(res.status, path).toBe(403)
      expect(res.body.message).toMatch(/role supplier may not read/)
    }
  })

  it('a range off the hour (read from the minute cubes) equals plain SQL over the raw facts in every report', async () => {
    const U = { from: DAY_START + 17 * 60_000, to: DAY_START + 9 * HOUR + 43 * 60_000 }
    const u = `from=${iso(U.from)}&to=${iso(U.to)}`
    const inU = `toStartOfMinute(event_time) >= toDateTime({f:UInt32}, 'UTC') AND toStartOfMinute(event_time) < toDateTime({t:UInt32}, 'UTC')`
    const at = (a: number, b: number) => ({ f: a / 1000, t: b / 1000 })
    const [cur] = await s.sql(`SELECT sum(amount_cents) AS g, uniqExact(order_id) AS o FROM order_events WHERE status = 'paid' AND ${inU}`, at(U.from, U.to))
    const [prev] = await s.sql(`SELECT sum(amount_cents) AS g FROM order_events WHERE status = 'paid' AND ${inU}`, at(2 * U.from - U.to, U.from))
    const sales = await s.get(`/v1/sales/overview?${u}&granularity=hour`, 'analyst')
    expect(Number(cur?.g)).toBeGreaterThan(0)
    expect(sales.body.totals).toMatchObject({ gmv_cents: cur?.g, orders: cur?.o })
    expect(sales.body.previous.gmv_cents).toBe(prev?.g)
    expect(sales.body.series.points.reduce((n: number, p: { gmv_cents: number }) => n + p.gmv_cents, 0)).toBe(cur?.g)
    const leaders = await s.get(`/v1/leaders/performance?${u}&limit=1000`, 'analyst')
    expect(leaders.body.leaders.reduce((n: number, l: { gmv_cents: number }) => n + l.gmv_cents, 0)).toBe(cur?.g)
    const [c1] = await s.sql(`SELECT sum(amount_cents) AS g FROM order_events WHERE status = 'paid' AND community_id = 'c-001' AND ${inU}`, at(U.from, U.to))
    const products = await s.get(`/v1/products/top?${u}&community=c-001&limit=100`, 'analyst')
    expect(products.body.products.reduce((n: number, p: { gmv_cents: number }) => n + p.gmv_cents, 0)).toBe(c1?.g)
    const [ev] = await s.sql(`SELECT (SELECT count() FROM behaviour_events WHERE ${inU}) + (SELECT count() FROM order_events WHERE status = 'created' AND ${inU}) AS n`, at(U.from, U.to))
    expect((await s.get(`/v1/activity?${u}`, 'analyst')).body.events).toBe(ev?.n)
    const [paid] = await s.sql(`SELECT count() AS n FROM order_events WHERE status = 'paid' AND ${inU}`, at(U.from, U.to))
    const cells = await s.get(`/v1/heatmap?${u}&bbox=-180,-90,180,90&zoom=13&limit=10000`, 'analyst')
    expect(cells.body.cells.reduce((n: number, c: { orders: number }) => n + c.orders, 0)).toBe(paid?.n)
  })

  it('/v1/me names each key\'s role, scope and board, and every panel on a board is readable by that key', async () => {
    const CITY = ['alerts', 'sales', 'products', 'funnel', 'leaders', 'repurchase', 'expiry', 'restock', 'profile', 'targeting', 'campaigns', 'quality', 'heatmap', 'tod']
    const expected = { admin: ['city', CITY], analyst: ['city', CITY], leader: ['leader', ['sales', 'deliveries', 'late', 'products', 'expiry']], ownLeader: ['leader', ['sales', 'deliveries', 'late', 'products', 'expiry']], supplier: ['supplier', ['products', 'stock', 'expiry', 'restock']] } as const
    for (const [role, [board, panels]] of Object.entries(expected)) {
      const me = await s.get('/v1/me', role as keyof typeof s.keys)
      expect(me.status, role).toBe(200)
      expect(me.body.board, role).toBe(board)
      expect(me.body.panels.map((p: { id: string }) => p.id), role).toEqual(panels)
    }
    const own = await s.get('/v1/me', 'ownLeader')
    expect(own.body).toMatchObject({ name: 'leader-l-001-1', role: 'leader', scope: { communities: ['c-001'], skus: null, leaders: ['l-001-1'] } })
    expect(own.body.panels.find((p: { id: string }) => p.id === 'sales').title).toBe('My orders')
    // What the leader's and the supplier's boards read answers 200 for them.
    const reads: [keyof typeof s.keys, string][] = [
      ['ownLeader', `/v1/sales/overview?${range}&leader=l-001-1`], ['ownLeader', `/v1/leaders/performance?${range}&leader=l-001-1`], ['ownLeader', `/v1/leaders/l-001-1/late-deliveries?${range}`],
      ['ownLeader', '/v1/products/hot?window=60'], ['ownLeader', '/v1/expiry'],
      ['supplier', `/v1/products/top?${range}`], ['supplier', '/v1/expiry?all=true'], ['supplier', '/v1/restock'],
    ]
    for (const [role, path] of reads) expect((await s.get(path, role)).status, `${role} ${path}`).toBe(200)
    expect((await s.get('/v1/me', null)).status).toBe(401)
  })

  it('a leader key that names her leader id reads her own orders and may not filter by another leader', async () => {
    const mine = await s.get(`/v1/sales/overview?${range}&leader=l-001-1`, 'ownLeader')
    const [o] = await s.sql(`SELECT uniqExact(order_id) AS orders, sum(amount_cents) AS gmv FROM order_events WHERE status = 'paid' AND leader_id = 'l-001-1' AND ${IN_RANGE}`, secs)
    expect(Number(o?.orders)).toBeGreaterThan(0)
    expect(mine.body.totals).toMatchObject({ orders: o?.orders, gmv_cents: o?.gmv })
    const perf = await s.get(`/v1/leaders/performance?${range}&leader=l-001-1`, 'ownLeader')
    expect(perf.body.leaders.map((l: { leader_id: string }) => l.leader_id)).toEqual(['l-001-1'])
    for (const path of [`/v1/sales/overview?${range}&leader=l-001-1,l-001-2`, `/v1/leaders/performance?${range}&leader=l-002-1`, `/v1/leaders/l-002-1/late-deliveries?${range}`]) {
      const other = await s.get(path, 'ownLeader')
      expect(other.status, path).toBe(403)
      expect(other.body.message, path).toMatch(/leader l-00\d-\d is not key leader-l-001-1's own/)
    }
  })

  it('a supplier reads the stock and expiry of his SKUs in every community, and nothing of other SKUs', async () => {
    const his = await s.get('/v1/expiry?all=true', 'supplier')
    expect(his.status).toBe(200)
    const admin = await s.get('/v1/expiry?all=true&sku=sku-0001,sku-0004', 'admin')
    expect(his.body.batches.length).toBeGreaterThan(0)
    // Only his SKUs (which of the two has stock on hand depends on the generated day).
    expect(his.body.batches.every((b: { sku: string }) => ['sku-0001', 'sku-0004'].includes(b.sku))).toBe(true)
    expect(new Set(his.body.batches.map((b: { community_id: string }) => b.community_id)).size).toBeGreaterThan(2)
    expect(his.body.batches.map((b: { batch_id: string; on_hand: number }) => [b.batch_id, b.on_hand])).toEqual(admin.body.batches.map((b: { batch_id: string; on_hand: number }) => [b.batch_id, b.on_hand]))
    expect((await s.get('/v1/expiry?sku=sku-0002', 'supplier')).status).toBe(403)
  })

  it('the map frame: communities the frame file places at its points, the others at the centre of their orders, scoped like the reports', async () => {
    const all = await s.get('/v1/geo/frame', 'analyst')
    expect(all.status).toBe(200)
    expect(all.body.districts).toEqual([])
    const world = new EventGenerator({ seed: 7, start: DAY_START }).world
    expect(all.body.communities.length).toBeGreaterThan(10)
    const ids = all.body.communities.map((p: { community_id: string }) => p.community_id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const p of all.body.communities) {
      if (p.community_id === 'c-001') {
        expect(p).toEqual({ community_id: 'c-001', name: 'Plum Garden', lon: 120.5, lat: 30.5, source: 'file' })
        continue
      }
      const c = world.communities.find((x) => x.communityId === p.community_id)
      expect(c, p.community_id).toBeDefined()
      // Residents live within a few hundred metres of their community; cells are 150 m.
      expect(Math.abs(p.lat - (c?.lat ?? 0)), p.community_id).toBeLessThan(0.005)
      expect(Math.abs(p.lon - (c?.lon ?? 0)), p.community_id).toBeLessThan(0.005)
      expect(p.source).toBe('orders')
    }
    expect(ids).toContain('c-001')
    const leader = await s.get('/v1/geo/frame', 'leader')
    expect(leader.body.communities.map((p: { community_id: string; source: string }) => `${p.community_id} ${p.source}`).sort()).toEqual(['c-001 file', 'c-002 orders'])
    expect((await s.get('/v1/geo/frame', 'supplier')).status).toBe(403)
  })

  it('personal data: in clear for admin and the leader, masked for the analyst', async () => {
    const [late] = await s.sql<{ leader_id: string; community_id: string }>(`
      SELECT leader_id, any(community_id) AS community_id, count() AS n FROM (
        SELECT order_id, leader_id, community_id, minIf(event_time, status = 'paid') AS p, minIf(event_time, status = 'delivered') AS d
        FROM order_events GROUP BY ALL HAVING countIf(status = 'paid') > 0 AND countIf(status = 'delivered') > 0 AND dateDiff('second', p, d) > 14400)
      GROUP BY leader_id ORDER BY community_id IN ('c-001', 'c-002') DESC, n DESC, leader_id LIMIT 1`)
    expect(late, 'the generated day has late deliveries').toBeDefined()
    const path = `/v1/leaders/${late?.leader_id}/late-deliveries?${range}`
    const admin = await s.get(path, 'admin')
    const analyst = await s.get(path, 'analyst')
    expect(admin.body.pii).toBe('clear')
    expect(analyst.body.pii).toBe('masked')
    expect(admin.body.orders.length).toBeGreaterThan(0)
    expect(analyst.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual(admin.body.orders.map((o: { order_id: string }) => o.order_id))
    const customers = await s.sql<{ order_id: string; customer_name: string; customer_phone: string; customer_address: string }>(
      `SELECT order_id, any(customer_name) AS customer_name, any(customer_phone) AS customer_phone, any(customer_address) AS customer_address FROM order_events WHERE status = 'created' AND has({ids:Array(String)}, order_id) GROUP BY order_id`,
      { ids: admin.body.orders.map((o: { order_id: string }) => o.order_id) },
    )
    for (const [i, o] of admin.body.orders.entries()) {
      const c = customers.find((x) => x.order_id === o.order_id)
      expect(o.customer).toEqual({ name: c?.customer_name, phone: c?.customer_phone, address: c?.customer_address })
      expect(o.minutes).toBeGreaterThan(240)
      const masked = analyst.body.orders[i].customer
      expect(masked.phone).toMatch(/^\d{3}\*{4}\d{4}$/)
      expect(masked.phone.slice(-4)).toBe(c?.customer_phone.slice(-4))
      expect(masked.name).not.toContain(c?.customer_name.split(' ')[0]?.slice(1) || '\u0000')
      expect(masked.address).toMatch(/, \*\*\*\*$/)
      expect(JSON.stringify(analyst.body)).not.toContain(c?.customer_phone)
    }
    if (['c-001', 'c-002'].includes(late?.community_id ?? '')) {
      expect((await s.get(path, 'leader')).body.pii).toBe('clear')
    }
  })

  it('a bad parameter of any endpoint is a 400 naming the field', async () => {
    const cases: [string, RegExp][] = [
      ['/v1/sales/overview?from=yesterday', /querystring\.from: expected an ISO 8601 date-time/],
      [`/v1/sales/overview?from=${iso(R.to)}&to=${iso(R.from)}`, /querystring\.from: must be before to/],
      ['/v1/sales/overview?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', /querystring\.from: the range may span at most 400 days/],
      ['/v1/sales/overview?granularity=week', /querystring\.granularity/],
      [`/v1/sales/overview?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&granularity=minute`, /querystring\.granularity: minute buckets over this range exceed/],
      ['/v1/sales/overview?community=c-001,bad%20id', /querystring\.community\.1: each community is 1-64/],
      ['/v1/sales/overview?by=leader', /querystring\.by/],
      ['/v1/products/top?limit=101', /querystring\.limit: must be 1-100/],
      ['/v1/products/top?by=margin', /querystring\.by/],
      ['/v1/products/top?sku=' + 'x'.repeat(65), /querystring\.sku\.0/],
      ['/v1/products/hot?window=30', /querystring\.window/],
      ['/v1/leaders/performance?sort=fastest', /querystring\.sort/],
      ['/v1/leaders/performance?limit=0', /querystring\.limit: must be 1-1000/],
      ['/v1/leaders/bad%20id/late-deliveries', /params\.leaderId: a leader id is/],
      ['/v1/leaders/l-001-1/late-deliveries?limit=abc', /querystring\.limit/],
      ['/v1/activity?to=tomorrow', /querystring\.to: expected an ISO 8601 date-time/],
      ['/v1/heatmap', /querystring\.bbox/],
      ['/v1/heatmap?bbox=1,2,3', /querystring\.bbox: expected minLon,minLat,maxLon,maxLat/],
      ['/v1/heatmap?bbox=121,30,120,31', /querystring\.bbox: min must be below max/],
      ['/v1/heatmap?bbox=120,30,121,31&zoom=99', /querystring\.zoom/],
      ['/v1/heatmap?bbox=120,30,121,31&format=kml', /querystring\.format/],
      ['/v1/time-of-day?tz=Mars/Olympus', /querystring\.tz: not an IANA time zone/],
      // Off the hour and older than the minute cubes keep: refused, not answered without its edge minutes.
      [`/v1/sales/overview?from=${new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 40 * 86_400_000 + 420_000).toISOString()}&to=${new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 39 * 86_400_000).toISOString()}`, /querystring\.from: minute-precise ends are kept 30 days/],
    ]
    for (const [path, message] of cases) {
      const res = await s.get(path, 'admin')
      expect(res.status, path).toBe(400)
      expect(res.body.code, path).toBe('API_BAD_REQUEST')
      expect(res.body.message, path).toMatch(message)
    }
  })
})

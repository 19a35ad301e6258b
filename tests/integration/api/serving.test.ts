import { gunzipSync } from 'node:zlib'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { buildApi } from '../../../api/index.js'
import { ReportQueries } from '../../../api/reports/query.js'
import { loadConfig } from '../../../schemas/index.js'
import type { ClickHouse } from '../../../sinks/index.js'
import { openSecondConnection, openTestClickHouse } from '../../services/clickhouse.js'
import { apiSuite, DAY_START, iso, testKeys } from './fixture.js'

const silent = pino({ level: 'silent' })
const range = `from=${iso(DAY_START)}&to=${iso(DAY_START + 2 * 3_600_000)}`

describe('serving: cache, ETag, deadlines, rate limits, OpenAPI, health', () => {
  const s = apiSuite('api_serving', { API_RATE_LIMIT: '100000' }, 2)

  /** An API of its own over a second connection to the suite's database, with its own keys and settings. */
  const ownApi = async (env: Record<string, string>) => {
    const ch = await openSecondConnection(s.ch)
    const { keys, entries } = testKeys()
    const app = await buildApi({ ch, log: silent, config: loadConfig({ API_KEYS: JSON.stringify(entries), ...env }) })
    return { app, keys, close: async () => { await app.close(); await ch.close() } }
  }

  it('concurrent identical requests run one query; a repeat with If-None-Match is a 304', async () => {
    const path = `/v1/sales/overview?${range}&community=c-004`
    const metric = async (result: string) => Number(((await s.get('/metrics', null)).body as string).match(new RegExp(`streamcube_api_cache_total\\{result="${result}"\\} (\\d+)`))?.[1] ?? 0)
    const before = { miss: await metric('miss'), shared: await metric('shared'), hit: await metric('hit') }
    const answers = await Promise.all(Array.from({ length: 8 }, () => s.get(path, 'analyst')))
    expect(answers.every((a) => a.status === 200)).toBe(true)
    expect(new Set(answers.map((a) => a.headers.etag)).size).toBe(1)
    expect(await metric('miss')).toBe(before.miss + 1)
    expect(await metric('shared') + await metric('hit')).toBe(before.shared + before.hit + 7)
    const etag = String(answers[0]?.headers.etag)
    const again = await s.get(path, 'analyst', { 'if-none-match': etag })
    expect(again.status).toBe(304)
    expect(again.body).toBe('')
    // The cache entry is per scope: a leader asking the same question gets her own answer.
    const leader = await s.get(`/v1/sales/overview?${range}&community=c-001`, 'leader')
    expect(leader.status).toBe(200)
    expect((await s.get(`/v1/sales/overview?${range}&community=c-001`, 'leader', { 'if-none-match': etag })).status).toBe(200)
  })

  it('sends a large report gzipped to a client that accepts it (made once per entry, its own ETag), plain otherwise', async () => {
    const path = `/v1/heatmap?${range}&bbox=-180,-90,180,90&zoom=15`
    const plain = await s.app.inject({ method: 'GET', url: path, headers: { 'x-api-key': s.keys.analyst } })
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.headers.vary).toMatch(/accept-encoding/)
    expect(plain.body.length).toBeGreaterThan(1024)
    const gz = await s.app.inject({ method: 'GET', url: path, headers: { 'x-api-key': s.keys.analyst, 'accept-encoding': 'gzip, deflate, br' } })
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gz.rawPayload.length).toBeLessThan(plain.body.length / 3)
    expect(gunzipSync(gz.rawPayload).toString('utf8')).toBe(plain.body)
    expect(gz.headers.etag).not.toBe(plain.headers.etag)
    const again = await s.app.inject({ method: 'GET', url: path, headers: { 'x-api-key': s.keys.analyst, 'accept-encoding': 'gzip', 'if-none-match': String(gz.headers.etag) } })
    expect(again.statusCode).toBe(304)
    // Refused (q=0) or a small body: plain.
    expect((await s.app.inject({ method: 'GET', url: path, headers: { 'x-api-key': s.keys.analyst, 'accept-encoding': 'gzip;q=0' } })).headers['content-encoding']).toBeUndefined()
    const small = await s.app.inject({ method: 'GET', url: '/v1/freshness', headers: { 'x-api-key': s.keys.analyst, 'accept-encoding': 'gzip' } })
    expect(small.headers['content-encoding']).toBeUndefined()
  })

  it('a query past its deadline is a 504 naming the timeout, not a hang', async () => {
    // Its own connection: report settings (readonly, deadlines) are session settings on the embedded engine.
    const ch = await openSecondConnection(s.ch)
    const queries = new ReportQueries(ch, 300, silent)
    const err = await queries.rows('SELECT count() AS n FROM numbers(200) WHERE sleepEachRow(0.05) = 0 SETTINGS max_block_size = 1', {}).catch((e: unknown) => e)
    expect(err).toMatchObject({ statusCode: 504, code: 'API_QUERY_TIMEOUT', message: expect.stringMatching(/did not finish within 300 ms/) })
    // ClickHouse's own deadline (max_execution_time) stopped the query too: the connection answers again.
    expect(await new ReportQueries(ch, 5_000, silent).rows('SELECT 1 AS one', {})).toEqual([{ one: 1 }])
    await ch.close()
  })

  it('spreads queries over its sessions: concurrent queries give the answers they give one at a time', async () => {
    const sessions = await Promise.all([openSecondConnection(s.ch), openSecondConnection(s.ch), openSecondConnection(s.ch)])
    const pooled = new ReportQueries(sessions[0]!, 5_000, silent, sessions.slice(1))
    expect(pooled.sessions).toBe(3)
    const sql = 'SELECT community_id, sum(gmv_cents) AS gmv FROM gmv_minute WHERE community_id = {c:String} GROUP BY community_id'
    const communities = Array.from({ length: 12 }, (_, i) => `c-${String(i + 1).padStart(3, '0')}`)
    const serial: unknown[] = []
    for (const c of communities) serial.push(await pooled.rows(sql, { c }))
    expect(await Promise.all(communities.map((c) => pooled.rows(sql, { c })))).toEqual(serial)
    expect(serial.flat()).toHaveLength(12)
    // (How much faster in parallel is bench/api.ts' question, not a test's.)
    for (const c of sessions) await c.close()
  })

  it('alert, campaign, report routes and /ready under concurrent load: no two statements ever share a session (issue 21)', async () => {
    // Each session counts the statements it runs at once: more than one is a shared embedded session.
    let shared = 0
    let statements = 0
    const watched = (c: ClickHouse): ClickHouse => {
      let running = 0
      const watch = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
        statements++
        if (++running > 1) shared++
        try {
          return await f(...a)
        } finally {
          running--
        }
      }
      const client = new Proxy(c.client, {
        get: (t, k) => {
          const v = Reflect.get(t, k) as unknown
          return ['query', 'insert', 'command', 'exec'].includes(String(k)) ? watch((v as (...a: unknown[]) => Promise<unknown>).bind(t)) : v
        },
      })
      return { ...c, client, rawInsert: undefined }
    }
    const sessions = await Promise.all([0, 1, 2].map(() => openSecondConnection(s.ch)))
    const { keys, entries } = testKeys()
    const app = await buildApi({ ch: watched(sessions[0]!), querySessions: sessions.slice(1).map(watched), log: silent, config: loadConfig({ API_KEYS: JSON.stringify(entries), API_RATE_LIMIT: '100000', API_CACHE_MAX_ENTRIES: '0' }) })
    const as = (role: 'admin' | 'analyst') => ({ 'x-api-key': keys[role] })
    const rule = (i: number) => ({ id: `load-${i}`, name: 'load', metric: 'orders', window: { kind: 'last', minutes: 60 }, condition: { type: 'static', op: '<', threshold: 1 }, severity: 'warning' })
    const campaign = (i: number) => ({ id: `load-${i}`, name: 'load', communities: ['c-001'], from: iso(DAY_START), to: iso(DAY_START + 3_600_000) })
    const requests = Array.from({ length: 12 }, (_, i) => [
      app.inject({ method: 'POST', url: '/v1/alerts/rules', payload: rule(i), headers: as('admin') }),
      app.inject({ url: '/v1/alerts/rules', headers: as('analyst') }),
      app.inject({ url: '/v1/alerts', headers: as('analyst') }),
      app.inject({ url: `/v1/alerts/history?from=${iso(DAY_START)}&to=${iso(DAY_START + 86_400_000)}`, headers: as('analyst') }),
      app.inject({ method: 'POST', url: '/v1/campaigns', payload: campaign(i), headers: as('admin') }),
      app.inject({ url: '/v1/campaigns', headers: as('analyst') }),
      app.inject({ url: `/v1/sales/overview?${range}&community=c-00${(i % 9) + 1}`, headers: as('analyst') }),
      app.inject({ url: '/ready' }),
    ]).flat()
    const answers = await Promise.all(requests)
    expect(answers.filter((a) => a.statusCode >= 300).map((a) => `${a.statusCode} ${a.body.slice(0, 200)}`)).toEqual([])
    expect(statements).toBeGreaterThan(requests.length)
    expect(shared, 'statements that ran on a session already running one').toBe(0)
    await app.close()
    for (const c of sessions) await c.close()
  })

  it('a query that waits for a busy session past its deadline is a 504 too', async () => {
    const ch = await openSecondConnection(s.ch)
    const one = new ReportQueries(ch, 300, silent)
    const hog = one.rows('SELECT count() AS n FROM numbers(200) WHERE sleepEachRow(0.05) = 0 SETTINGS max_block_size = 1', {}).catch((e: unknown) => e)
    const waiting = await one.rows('SELECT 1 AS one', {}).catch((e: unknown) => e)
    expect(waiting).toMatchObject({ statusCode: 504, code: 'API_QUERY_TIMEOUT' })
    expect(await hog).toMatchObject({ statusCode: 504 })
    await ch.close()
  })

  it('an unreachable ClickHouse is a 503, and /ready says so', async () => {
    const dead = { client: (await import('@clickhouse/client')).createClient({ url: 'http://127.0.0.1:1', request_timeout: 2000 }), kind: 'server' as const, database: 'x', close: async () => {} }
    const queries = new ReportQueries(dead, 2000, silent)
    await expect(queries.rows('SELECT 1', {})).rejects.toMatchObject({ statusCode: 503, code: 'API_UNAVAILABLE' })
    const app = await buildApi({ ch: dead, log: silent, config: loadConfig({ API_KEYS: JSON.stringify(testKeys().entries) }) })
    const ready = await app.inject('/ready')
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toMatchObject({ code: 'API_NOT_READY', message: expect.stringMatching(/ClickHouse unreachable/) })
    await app.close()
    await dead.client.close()
  })

  it('/ready is 503 until the migrations are applied', async () => {
    const fresh = await openTestClickHouse('api_unmigrated')
    const app = await buildApi({ ch: fresh, log: silent, config: loadConfig({}) })
    const ready = await app.inject('/ready')
    expect(ready.statusCode).toBe(503)
    expect(ready.json().message).toMatch(/migrations not applied: 1, 2, 3, 4, 5, 6/)
    expect((await app.inject('/health')).json()).toEqual({ status: 'ok' })
    await app.close()
    await fresh.drop()
  })

  it('rate limits per key: over the limit is a 429 with the API error body', async () => {
    const { app, keys, close } = await ownApi({ API_RATE_LIMIT: '3' })
    const get = (key: string) => app.inject({ url: '/v1/freshness', headers: { 'x-api-key': key } })
    for (let i = 0; i < 3; i++) expect((await get(keys.analyst)).statusCode).toBe(200)
    const limited = await get(keys.analyst)
    expect(limited.statusCode).toBe(429)
    expect(limited.json()).toMatchObject({ code: 'API_RATE_LIMITED' })
    // Another key has its own budget; health checks are never limited.
    expect((await get(keys.admin)).statusCode).toBe(200)
    expect((await app.inject('/health')).statusCode).toBe(200)
    await close()
  })

  it('sheds load: with the event loop held busy past API_MAX_EVENT_LOOP_DELAY_MS, requests get a 503 with Retry-After, and are served again once it recovers (issue 21)', async () => {
    const { app, keys, close } = await ownApi({ API_MAX_EVENT_LOOP_DELAY_MS: '200' })
    const get = () => app.inject({ url: '/v1/freshness', headers: { 'x-api-key': keys.analyst } })
    expect((await get()).statusCode).toBe(200)
    // The loop held busy in 1 s stretches (reports computed synchronously, a GC storm): the
    // sampler's mean delay goes over the bound, and the API sheds load instead of queueing more.
    let shed: Awaited<ReturnType<typeof get>> | undefined
    for (let i = 0; i < 8 && !shed; i++) {
      const busyUntil = Date.now() + 1_000
      while (Date.now() < busyUntil) Math.sqrt(Math.random())
      await new Promise((r) => setImmediate(r))
      const res = await get()
      if (res.statusCode === 503) shed = res
    }
    expect(shed?.statusCode, 'no 503 while the event loop was overloaded').toBe(503)
    expect(shed!.headers['retry-after']).toBe('5')
    expect(shed!.json()).toMatchObject({ code: 'API_OVERLOADED' })
    // Recovery: the next samples see a quiet loop, and the same request is served.
    let recovered = false
    const until = Date.now() + 10_000
    while (!recovered && Date.now() < until) {
      recovered = (await get()).statusCode === 200
      if (!recovered) await new Promise((r) => setTimeout(r, 100))
    }
    expect(recovered, 'still shedding load 10 s after the loop recovered').toBe(true)
    await close()
  })

  it('CORS answers only the configured origins', async () => {
    const ch = await openSecondConnection(s.ch)
    const app = await buildApi({ ch, log: silent, config: loadConfig({ API_CORS_ORIGINS: 'https://dash.example.com' }) })
    const preflight = (origin: string) => app.inject({ method: 'OPTIONS', url: '/v1/freshness', headers: { origin, 'access-control-request-method': 'GET' } })
    expect((await preflight('https://dash.example.com')).headers['access-control-allow-origin']).toBe('https://dash.example.com')
    expect((await preflight('https://evil.example.com')).headers['access-control-allow-origin']).toBeUndefined()
    await app.close()
    await ch.close()
  })

  it('OpenAPI 3 at /docs/json documents every report with its parameters; /docs serves the UI; request ids are echoed', async () => {
    const doc = (await s.get('/docs/json', null)).body
    expect(doc.openapi).toMatch(/^3\./)
    const paths = Object.keys(doc.paths)
    for (const p of ['/v1/sales/overview', '/v1/products/top', '/v1/products/hot', '/v1/leaders/performance', '/v1/leaders/{leaderId}/late-deliveries', '/v1/activity', '/v1/heatmap', '/v1/time-of-day']) {
      expect(paths, p).toContain(p)
    }
    const names = (p: string) => (doc.paths[p].get.parameters as { name: string }[]).map((x) => x.name)
    expect(names('/v1/sales/overview')).toEqual(expect.arrayContaining(['from', 'to', 'community', 'leader', 'category', 'granularity']))
    expect(names('/v1/heatmap')).toEqual(expect.arrayContaining(['bbox', 'zoom', 'metric', 'format']))
    expect(paths.some((p) => p === '/health' || p === '/metrics')).toBe(false)
    // Every report and status route shows its response schema (reports are checked against it before caching).
    const reports = ['/v1/sales/overview', '/v1/products/top', '/v1/products/hot', '/v1/leaders/performance', '/v1/leaders/{leaderId}/late-deliveries', '/v1/activity', '/v1/heatmap', '/v1/time-of-day', '/v1/quality', '/v1/repurchase', '/v1/expiry', '/v1/restock', '/v1/communities/{id}/profile', '/v1/targeting', '/v1/sites/rank', '/v1/campaigns/{id}/effect', '/v1/freshness', '/v1/ingest/status', '/v1/alerts', '/v1/alerts/history', '/v1/alerts/rules', '/v1/alerts/rules/{id}', '/v1/campaigns']
    for (const p of reports) expect(doc.paths[p]?.get?.responses?.['200']?.content?.['application/json']?.schema, p).toBeTruthy()
    expect(Object.keys(doc.paths['/v1/sales/overview'].get.responses['200'].content['application/json'].schema.properties)).toEqual(expect.arrayContaining(['range', 'totals', 'previous', 'change', 'series']))
    const ui = await s.get('/docs/', null)
    expect(ui.status).toBe(200)
    expect(String(ui.body)).toMatch(/swagger/i)
    const res = await s.get('/v1/freshness', 'admin', { 'x-request-id': 'req-123' })
    expect(res.headers['x-request-id']).toBe('req-123')
    expect((await s.get('/v1/freshness', 'admin')).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })
})

/// <reference lib="dom" />
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { cityFrame, EventGenerator } from '../../generator/index.js'
import { AlertEvaluator, restockSettings, runRestock } from '../../jobs/index.js'
import { AlertRuleSchema, putRule } from '../../queries/index.js'
import { loadConfig } from '../../schemas/index.js'
import { openSecondConnection } from '../services/clickhouse.js'
import { silent } from '../integration/engine/harness.js'
import { apiSuite } from '../integration/api/fixture.js'

/*
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against the API
 * on cubes the pipelines filled with the last 6 hours: every chart must have drawn data, no
 * report may have failed; at a phone's size nothing is wider than the screen; a leader's and a
 * supplier's key get their own boards and ask for nothing else. Screenshots go to test-output/.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const HOUR = 3_600_000
const NOW = Math.floor(Date.now() / 60_000) * 60_000
const PHONE: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true }
const DESKTOP: BrowserContextOptions = { viewport: { width: 1400, height: 1800 } }
/** The generated city's map frame (the fixture's generator: seed 7), as `npm start` writes it. */
const FRAME_FILE = join(mkdtempSync(join(tmpdir(), 'frame-')), 'city.geojson')
writeFileSync(FRAME_FILE, JSON.stringify(cityFrame(new EventGenerator({ seed: 7, start: 0 }).world)))

type Sc = { refreshes?: number; rendered: Record<string, number>; errors: string[]; board?: string; panels?: string[] }

/** Opens the page with a key at a size; resolves once the first refresh has drawn. */
async function openBoard(browser: Browser, address: string, key: string, size: BrowserContextOptions) {
  const context = await browser.newContext(size)
  const page = await context.newPage()
  const consoleErrors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text())
  })
  const requests: string[] = []
  const failed: string[] = []
  page.on('request', (r) => requests.push(r.url()))
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`)
  })
  await page.goto(`${address}/?key=${encodeURIComponent(key)}`)
  await page.waitForFunction(() => (window as unknown as { __streamcube?: Sc }).__streamcube?.refreshes === 1, undefined, { timeout: 30_000 })
  const sc = await page.evaluate(() => {
    const x = (window as unknown as { __streamcube: Sc }).__streamcube
    return { rendered: x.rendered, errors: x.errors, board: x.board, panels: x.panels, visible: Array.from(document.querySelectorAll<HTMLElement>('section[data-panel]:not([hidden])'), (el) => el.dataset.panel) }
  })
  return { page, requests, failed, consoleErrors, sc, close: () => context.close() }
}

type Board = Awaited<ReturnType<typeof openBoard>>

/** A board as its role must see it: no error, its panels and exactly its reports' requests (`also`: paths asked only when a panel has rows). */
function expectBoard(b: Board, board: string, panels: readonly string[], paths: readonly string[], also: readonly string[] = []) {
  expect(b.sc.errors).toEqual([])
  expect(b.failed).toEqual([])
  expect(b.consoleErrors).toEqual([])
  expect(b.sc.board).toBe(board)
  expect(b.sc.visible).toEqual(panels)
  expect(b.sc.visible).toEqual(b.sc.panels)
  const v1 = new Set(b.requests.filter((u) => u.includes('/v1/')).map((u) => new URL(u).pathname))
  for (const p of also) v1.delete(p)
  expect(v1).toEqual(new Set(paths))
}

/** The board fits the screen (nothing sticks out, no sideways scroll); then its screenshot, and the context closes. */
async function expectFits(b: Board, name: string) {
  const f = await fit(b.page)
  expect(f.out).toEqual([])
  expect(f.scrollWidth).toBeLessThanOrEqual(f.clientWidth)
  await screenshot(b.page, name)
  await b.close()
}

/** Whether the page fits the screen: its width, and every element outside a scrolling table that sticks out. */
function fit(page: Page) {
  return page.evaluate(() => {
    const w = document.documentElement.clientWidth
    const out: string[] = []
    for (const el of Array.from(document.querySelectorAll<HTMLElement>('body *'))) {
      if (el.closest('.scroll') && !el.classList.contains('scroll')) continue // scrolls inside its panel
      const r = el.getBoundingClientRect()
      if (r.width === 0 || r.height === 0) continue // hidden
      if (r.right > w + 1 || r.left < -1) out.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.split(' ')[0]}` : ''} ${Math.round(r.left)}–${Math.round(r.right)}`)
    }
    const scrollers = Array.from(document.querySelectorAll<HTMLElement>('section:not([hidden]) .scroll'))
    return { innerWidth: window.innerWidth, clientWidth: w, scrollWidth: document.documentElement.scrollWidth, out: out.slice(0, 10), tablesScrolling: scrollers.filter((x) => x.scrollWidth > x.clientWidth).length, tables: scrollers.length }
  })
}

function screenshot(page: Page, name: string) {
  mkdirSync('test-output', { recursive: true })
  const file = join('test-output', name)
  return page.screenshot({ path: file, fullPage: true }).then(() => expect(existsSync(file)).toBe(true))
}

const CHARTS = ['chart-sales', 'chart-products', 'chart-funnel', 'chart-leaders', 'chart-heatmap', 'chart-tod', 'chart-repurchase', 'chart-profile']

function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true
  // Under CI the browser is installed by .ci/run: missing is a failure, never a skip.
  if (process.env.CI === 'true') throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`)
  console.warn(`dashboard test skipped: no Chromium at ${CHROMIUM}`)
  return false
}

describe.runIf(browserAvailable())('dashboard in headless Chromium', () => {
  const s = apiSuite('api_dashboard', { DASHBOARD_POLL_MS: '60000', API_GEO_FRAME_FILE: FRAME_FILE }, 6, NOW - 6 * HOUR)
  let address = ''
  let browser: Browser | undefined
  afterAll(async () => {
    await browser?.close()
  })

  it('renders every chart with data from the API, with no failed report, and saves a screenshot', async () => {
    // An alert rule that fires on this data: its threshold is drawn on the sales chart, the alert
    // listed. Its window is the whole six hours: a quarter hour's orders depend on the time of day
    // the test runs (the generator's city sleeps at night), six hours' do not fall to 20.
    const ch = await openSecondConnection(s.ch)
    await putRule(ch, AlertRuleSchema.parse({ id: 'busy', name: 'Busy six hours', metric: 'orders', window: { kind: 'last', minutes: 360 }, condition: { type: 'static', op: '>', threshold: 20 } }), 'test')
    const ev = new AlertEvaluator({ ch, log: silent, instance: 'e2e', intervalMs: 60_000, timezone: 'UTC', lateDeliveryMinutes: 240, webhookTimeoutMs: 1000, webhookRetry: { initialMs: 10, maxMs: 10, factor: 1, maxElapsedMs: 0 } })
    expect((await ev.evaluateOnce(NOW)).transitions.map((t) => t.kind)).toEqual(['firing'])
    // A restock run on these six hours (no complete day yet: zero forecasts, orders for the shortfalls and minimums).
    const restock = await runRestock(ch, restockSettings(loadConfig({ RESTOCK_MIN_STOCK: '{"*":2}', LOG_LEVEL: 'silent' })), { at: NOW })
    expect(restock.rows.filter((r) => r.suggested_qty > 0).length).toBeGreaterThan(0)
    await ch.close()
    // A campaign that ended an hour ago, for the campaigns panel.
    const campaign = await s.app.inject({ method: 'POST', url: '/v1/campaigns', headers: { 'x-api-key': s.keys.admin }, payload: { id: 'e2e-promo', name: 'Evening promo', communities: ['c-001'], from: new Date(NOW - 3 * HOUR).toISOString(), to: new Date(NOW - HOUR).toISOString() } })
    expect(campaign.statusCode, campaign.body).toBe(201)
    address = await s.app.listen({ port: 0, host: '127.0.0.1' })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    })
    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } })
    const consoleErrors: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text())
    })
    const requests: string[] = []
    page.on('request', (r) => requests.push(r.url()))
    await page.goto(`${address}/?key=${encodeURIComponent(s.keys.analyst)}`)
    await page.waitForFunction(() => (window as unknown as { __streamcube?: { refreshes?: number } }).__streamcube?.refreshes === 1, undefined, { timeout: 30_000 })
    const state = await page.evaluate(() => {
      const sc = (window as unknown as { __streamcube: { rendered: Record<string, number>; errors: string[]; charts: Record<string, { getOption(): { series: { data: unknown[] }[] } }> } }).__streamcube
      return {
        rendered: sc.rendered,
        errors: sc.errors,
        points: Object.fromEntries(Object.entries(sc.charts).map(([id, c]) => [id, c.getOption().series.reduce((n, x) => n + (x.data?.length ?? 0), 0)])),
        kpis: document.getElementById('kpis')?.textContent ?? '',
        leaderRows: document.querySelectorAll('#leaders tbody tr').length,
        freshness: document.getElementById('freshness')?.textContent ?? '',
        communities: document.querySelectorAll('#community option').length,
        alertRows: Array.from(document.querySelectorAll('#alerts tbody tr.firing'), (tr) => tr.textContent ?? ''),
        referenceLines: (window as unknown as { __streamcube: { referenceLines: number } }).__streamcube.referenceLines,
        board: (window as unknown as { __streamcube: Sc }).__streamcube.board,
      }
    })
    expect(state.board).toBe('city')
    // The heatmap's frame: the city's 16 districts and its communities.
    expect(state.rendered.frame).toBeGreaterThan(16 + 10)
    expect(state.errors).toEqual([])
    for (const id of CHARTS) {
      expect(state.rendered[id], `${id} drew no data`).toBeGreaterThan(0)
      expect(state.points[id], `${id} has no series data`).toBeGreaterThan(0)
    }
    expect(state.kpis).toMatch(/GMV.*orders.*paying users/)
    expect(state.leaderRows).toBeGreaterThan(0)
    expect(state.freshness).toMatch(/data up to/)
    expect(state.communities).toBeGreaterThan(2)
    expect(state.alertRows).toEqual([expect.stringMatching(/^Busy six hours.*firing/)])
    expect(state.referenceLines).toBe(1)
    expect(state.rendered.quality, 'the data quality panel is empty').toBeGreaterThan(0)
    expect(state.rendered.expiry, 'the expiry panel assessed no batch').toBeGreaterThan(0)
    expect(state.rendered.restock, 'the restock panel listed no order').toBe(10)
    expect(state.rendered.targeting, 'the targeting table is empty').toBeGreaterThan(0)
    expect(state.rendered.sites, 'the site ranking is empty').toBeGreaterThan(0)
    expect(state.rendered.campaigns, 'the ended campaign is not listed').toBe(1)
    // No CDN: every request stays on the API's origin.
    expect(requests.filter((u) => !u.startsWith(address))).toEqual([])
    expect(consoleErrors).toEqual([])

    // A filter change re-queries and redraws.
    await page.selectOption('#community', 'c-001')
    await page.waitForFunction(() => (window as unknown as { __streamcube: { refreshes: number } }).__streamcube.refreshes >= 2, undefined, { timeout: 30_000 })
    expect(requests.some((u) => u.includes('community=c-001'))).toBe(true)

    mkdirSync('test-output', { recursive: true })
    const file = join('test-output', 'dashboard.png')
    await page.selectOption('#community', '')
    await page.waitForFunction(() => (window as unknown as { __streamcube: { refreshes: number } }).__streamcube.refreshes >= 3, undefined, { timeout: 30_000 })
    await page.screenshot({ path: file, fullPage: true })
    expect(existsSync(file)).toBe(true)
  })

  it('on a phone (390 × 844) the page is no wider than the screen: tables scroll inside their panels, charts fit', async () => {
    const b = await openBoard(browser as Browser, address, s.keys.analyst, PHONE)
    expect(b.sc.errors).toEqual([])
    const f = await fit(b.page)
    expect(f.innerWidth).toBe(390)
    expect(f.scrollWidth).toBeLessThanOrEqual(390)
    expect(f.out).toEqual([])
    // Wide tables (leaders, restock, quality…) scroll sideways inside their panel.
    expect(f.tablesScrolling).toBeGreaterThan(0)
    const chartWidths = await b.page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('section:not([hidden]) .chart canvas'), (c) => c.getBoundingClientRect().right))
    expect(chartWidths.length).toBeGreaterThan(5)
    expect(Math.max(...chartWidths)).toBeLessThanOrEqual(390)
    await screenshot(b.page, 'dashboard-phone.png')
    await b.close()
  })

  it('a leader\'s key gets her board — her orders, deliveries, late deliveries, hot products and expiry — on desktop and phone, and asks for nothing else', async () => {
    for (const [size, name] of [[DESKTOP, 'board-leader.png'], [PHONE, 'board-leader-phone.png']] as const) {
      const b = await openBoard(browser as Browser, address, s.keys.ownLeader, size)
      // Her late deliveries are asked when her deliveries panel has her row (checked below).
      expectBoard(b, 'leader', ['sales', 'deliveries', 'late', 'products', 'expiry'], ['/v1/me', '/v1/freshness', '/v1/sales/overview', '/v1/leaders/performance', '/v1/products/hot', '/v1/expiry'], ['/v1/leaders/l-001-1/late-deliveries'])
      // Her own leader id on her orders; what each panel drew is what the API answers her key for
      // the same request (how much there is depends on the hours generated: the fixture follows the clock).
      expect(b.requests.filter((u) => u.includes('/v1/sales/overview')).every((u) => new URL(u).searchParams.get('leader') === 'l-001-1')).toBe(true)
      const same = async (path: string) => {
        const u = new URL(b.requests.find((x) => new URL(x).pathname === path) as string)
        return (await s.get(`${u.pathname}${u.search}`, 'ownLeader')).body
      }
      const sales = await same('/v1/sales/overview')
      expect(b.sc.rendered['chart-sales']).toBe(sales.series.points.filter((p: { orders: number }) => p.orders > 0).length)
      const perf = await same('/v1/leaders/performance')
      expect(perf.leaders.map((l: { leader_id: string }) => l.leader_id)).toEqual(perf.leaders.length ? ['l-001-1'] : [])
      expect(b.sc.rendered.deliveries).toBe(perf.leaders.length)
      if (perf.leaders.length) expect(await b.page.textContent('#deliveries')).toMatch(/l-001-1 · c-001.*orders paid/s)
      expect(b.sc.rendered['chart-products']).toBe((await same('/v1/products/hot')).products.length)
      expect(b.sc.rendered.expiry).toBe((await same('/v1/expiry')).summary.batches)
      // Her map frame: her one community, which the city's frame file places (no query for centres).
      expect((await s.get('/v1/geo/frame', 'ownLeader')).body.communities.map((p: { community_id: string; source: string }) => `${p.community_id} ${p.source}`)).toEqual(['c-001 file'])
      // Her late deliveries are asked for the leader ids her deliveries panel shows.
      expect(b.sc.rendered.late).toBe(perf.leaders.length ? (await same('/v1/leaders/l-001-1/late-deliveries')).orders.length : 0)
      expect(await b.page.$$eval('#community option', (o) => o.map((x) => (x as HTMLOptionElement).value))).toEqual(['', 'c-001'])
      await expectFits(b, name)
    }
  })

  it('a supplier\'s key gets his board — his SKUs\' sales, stock and expiry across communities — on desktop and phone, and asks for nothing else', async () => {
    for (const [size, name] of [[DESKTOP, 'board-supplier.png'], [PHONE, 'board-supplier-phone.png']] as const) {
      const b = await openBoard(browser as Browser, address, s.keys.supplier, size)
      expectBoard(b, 'supplier', ['products', 'stock', 'expiry', 'restock'], ['/v1/me', '/v1/freshness', '/v1/products/top', '/v1/expiry', '/v1/restock'])
      // His stock and expiry panels share one assessment per refresh (every batch; the expiry panel lists those at risk).
      const asked = (path: string) => b.requests.filter((u) => new URL(u).pathname === path)
      expect(asked('/v1/expiry').length).toBe(asked('/v1/restock').length)
      expect(asked('/v1/expiry').every((u) => new URL(u).searchParams.get('all') === 'true')).toBe(true)
      const risk = (await s.get('/v1/expiry', 'supplier')).body
      expect(b.sc.rendered.expiry).toBe(risk.summary.batches)
      expect(await b.page.$$eval('#expiry tbody tr td:first-child', (tds) => tds.map((t) => t.textContent))).toEqual(risk.batches.slice(0, 10).map((x: { batch_id: string }) => x.batch_id).concat(risk.batches.length ? [] : ['no batch at risk']))
      const top = new URL(b.requests.find((x) => new URL(x).pathname === '/v1/products/top') as string)
      expect(b.sc.rendered['chart-products']).toBe((await s.get(`${top.pathname}${top.search}`, 'supplier')).body.products.length)
      expect(b.sc.rendered.stock).toBeGreaterThan(0)
      const skus = await b.page.$$eval('#stock tbody tr td:first-child', (tds) => [...new Set(tds.map((t) => t.textContent))])
      // Only his SKUs (which of the two has stock on hand depends on the generated hours).
      expect(skus.length).toBeGreaterThan(0)
      expect(skus.every((x) => x === 'sku-0001' || x === 'sku-0004')).toBe(true)
      const communities = await b.page.$$eval('#stock tbody tr td:nth-child(2)', (tds) => new Set(tds.map((t) => t.textContent)).size)
      expect(communities).toBeGreaterThan(1)
      await expectFits(b, name)
    }
  })
})

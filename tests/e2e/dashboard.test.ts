/// <reference lib="dom" />
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { AlertEvaluator, restockSettings, runRestock } from '../../jobs/index.js'
import { AlertRuleSchema, putRule } from '../../queries/index.js'
import { loadConfig } from '../../schemas/index.js'
import { openSecondConnection } from '../services/clickhouse.js'
import { silent } from '../integration/engine/harness.js'
import { apiSuite } from '../integration/api/fixture.js'

/*
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against the API
 * on cubes the pipelines filled with the last 6 hours: every chart must have drawn data, no
 * report may have failed, and a screenshot is kept under test-output/.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const HOUR = 3_600_000
const NOW = Math.floor(Date.now() / 60_000) * 60_000
const CHARTS = ['chart-sales', 'chart-products', 'chart-funnel', 'chart-leaders', 'chart-heatmap', 'chart-tod', 'chart-repurchase', 'chart-profile']

function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true
  // Under CI the browser is installed by .ci/run: missing is a failure, never a skip.
  if (process.env.CI === 'true') throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`)
  console.warn(`dashboard test skipped: no Chromium at ${CHROMIUM}`)
  return false
}

describe.runIf(browserAvailable())('dashboard in headless Chromium', () => {
  const s = apiSuite('api_dashboard', { DASHBOARD_POLL_MS: '60000' }, 6, NOW - 6 * HOUR)
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
    const address = await s.app.listen({ port: 0, host: '127.0.0.1' })
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
      }
    })
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
})

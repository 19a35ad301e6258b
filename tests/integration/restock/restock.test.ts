import { beforeAll, describe, expect, it } from 'vitest'
import { fillPlantedDemand } from '../../../generator/index.js'
import { lastRestockRun } from '../../../queries/index.js'
import { restockSettings, runRestock, runRestockDaily, type RestockRow, type RestockRunResult } from '../../../jobs/index.js'
import { localDateOf } from '../../../schemas/index.js'
import type { GeneratedRecord } from '../../../generator/generator.js'
import { loadConfig, type InventoryEvent } from '../../../schemas/index.js'
import { generatedTemplates, runScripted } from '../alerts/scripted.js'
import { apiSuite } from '../api/fixture.js'
import { pino } from 'pino'
import { silent, waitFor } from '../engine/harness.js'

/*
 * The restock forecast recovers what was planted:
 * - a generated city whose demand has a planted weekly pattern and trend goes through the real
 *   pipelines; the forecast of the three days after the run (Saturday, Sunday, Monday) is checked
 *   against what the generator then sold there (plain SQL over the raw events) and against
 *   seasonal-naive's forecast of the same days;
 * - scripted series with exact sales and batches give exact quantities: a weekly pattern without
 *   noise, a new product (mean fallback), stock without sales (zero), expiring stock and minimums.
 */

const DAY = 86_400_000
const HOUR = 3_600_000
const TZ = 'Asia/Shanghai'
const HISTORY = 56

/** The newest Tuesday 00:00 in Hangzhou (Monday 16:00 UTC) that has passed: the planted data's end. */
function lastTuesdayMidnight(now: number): number {
  let t = Math.floor(now / DAY) * DAY + 16 * HOUR
  while (t > now || new Date(t).getUTCDay() !== 1) t -= DAY
  return t
}

const END = lastTuesdayMidnight(Date.now())
/** Saturday 00:00 local: history ends here, the three forecast days follow. */
const DAY0 = END - 3 * DAY
const AT = DAY0 + 5 * HOUR
const localDate = (ms: number) => localDateOf(ms, TZ)

function inventoryFactory(): (e: Partial<InventoryEvent> & Pick<InventoryEvent, 'kind' | 'eventTime' | 'sku' | 'qty'>) => GeneratedRecord {
  const t = generatedTemplates(9).receipt
  let n = 0
  return (e) => {
    const event: InventoryEvent = { ...t, warehouseId: 'w-960', communityId: 'c-960', batchId: null, productionDate: null, expiryDate: null, lossReason: null, orderId: null, ...e, eventId: `rs-${n++}` }
    return { type: 'inventory', key: event.sku, event: { type: 'inventory', event } }
  }
}

/** Units sold per local weekday (Sunday first) in the scripted weekly series. */
const PATTERN = [16, 7, 7, 8, 9, 12, 18]
const weekday = (ms: number) => new Date(ms + 8 * HOUR).getUTCDay()

describe('restock forecast', () => {
  const s = apiSuite('restock', {}, 0)
  const settings = restockSettings(loadConfig({ RESTOCK_MIN_STOCK: '{"*":3,"sku-r3":25}', LOG_LEVEL: 'silent' }))
  let run: RestockRunResult
  const row = (w: string, sku: string) => run.rows.find((r) => r.warehouse_id === w && r.sku === sku) as RestockRow

  beforeAll(async () => {
    // 56 days of history and the 3 forecast days, planted: busy weekends, +0.5 % a day.
    await fillPlantedDemand(s.ch, { days: HISTORY + 3, end: END, growthPerDay: 0.005, pipelines: ['facts', 'inventory', 'products'] }, silent)
    const make = inventoryFactory()
    const events: GeneratedRecord[] = []
    const first = DAY0 - HISTORY * DAY
    // sku-r1: the exact weekly pattern, sold from a batch H received with just enough.
    const sold = Array.from({ length: HISTORY }, (_, d) => PATTERN[weekday(first + d * DAY)]!)
    events.push(make({ kind: 'receipt', sku: 'sku-r1', eventTime: first + 30 * 60_000, batchId: 'H', qty: sold.reduce((a, b) => a + b, 0), productionDate: localDate(first), expiryDate: localDate(DAY0 + 90 * DAY) }))
    sold.forEach((qty, d) => events.push(make({ kind: 'sale', sku: 'sku-r1', eventTime: first + d * DAY + 4 * HOUR, batchId: 'H', qty })))
    // On hand at the run: A (30) expires on Saturday, B (10) in a month.
    events.push(make({ kind: 'receipt', sku: 'sku-r1', eventTime: DAY0 - 2 * HOUR, batchId: 'A', qty: 30, productionDate: localDate(DAY0 - 3 * DAY), expiryDate: localDate(DAY0) }))
    events.push(make({ kind: 'receipt', sku: 'sku-r1', eventTime: DAY0 - 2 * HOUR, batchId: 'B', qty: 10, productionDate: localDate(DAY0 - 3 * DAY), expiryDate: localDate(DAY0 + 30 * DAY) }))
    // sku-r2: new three days ago, 5, 6 and 7 sold from 30 good for a year.
    events.push(make({ kind: 'receipt', sku: 'sku-r2', eventTime: DAY0 - 3 * DAY + HOUR, batchId: 'N', qty: 30, productionDate: localDate(DAY0 - 3 * DAY), expiryDate: localDate(DAY0 + 365 * DAY) }))
    ;[5, 6, 7].forEach((qty, d) => events.push(make({ kind: 'sale', sku: 'sku-r2', eventTime: DAY0 - (3 - d) * DAY + 6 * HOUR, batchId: 'N', qty })))
    // sku-r3: 5 on the shelf since before the window, good for a year, never sold; its minimum stock is 25.
    events.push(make({ kind: 'receipt', sku: 'sku-r3', eventTime: first - 5 * DAY, batchId: 'S', qty: 5, productionDate: localDate(first - 5 * DAY), expiryDate: localDate(DAY0 + 365 * DAY) }))
    await runScripted(s.ch, events)
    run = await runRestock(s.ch, settings, { at: AT })
  }, 240_000)

  it('reads each series\' history exactly as plain SQL over the raw events says', async () => {
    const raw = await s.sql<{ warehouse_id: string; sku: string; sold: number }>(`
      SELECT warehouse_id, sku, sum(qty) AS sold FROM inventory_events
      WHERE kind = 'sale' AND event_time >= fromUnixTimestamp64Milli({from:Int64}) AND event_time < fromUnixTimestamp64Milli({to:Int64})
      GROUP BY warehouse_id, sku`, { from: DAY0 - HISTORY * DAY, to: DAY0 })
    const planted = run.rows.filter((r) => r.warehouse_id.startsWith('wh-'))
    expect(planted.length).toBeGreaterThan(30)
    expect(Object.fromEntries(planted.filter((r) => r.history_sold > 0).map((r) => [`${r.warehouse_id}|${r.sku}`, r.history_sold])))
      .toEqual(Object.fromEntries(raw.filter((r) => r.warehouse_id.startsWith('wh-')).map((r) => [`${r.warehouse_id}|${r.sku}`, Number(r.sold)])))
    expect(run.runDate).toBe(localDate(AT))
    for (const r of planted) expect(r, `${r.warehouse_id} ${r.sku}`).toMatchObject({ history_days: HISTORY, fallback: '' })
  })

  it('recovers the planted weekly pattern: better than seasonal-naive on the days it did not see, and MASE below 1', async () => {
    const daily = await s.sql<{ warehouse_id: string; sku: string; d: number; sold: number }>(`
      SELECT warehouse_id, sku, toInt64(floor((toUnixTimestamp64Milli(event_time) - {day0:Int64}) / 86400000)) AS d, sum(qty) AS sold FROM inventory_events
      WHERE kind = 'sale' AND warehouse_id LIKE 'wh-%' AND event_time >= fromUnixTimestamp64Milli({from:Int64}) AND event_time < fromUnixTimestamp64Milli({to:Int64})
      GROUP BY warehouse_id, sku, d`, { day0: DAY0, from: DAY0 - 7 * DAY, to: DAY0 + 3 * DAY })
    const sold = (w: string, sku: string, d: number) => Number(daily.find((x) => x.warehouse_id === w && x.sku === sku && Number(x.d) === d)?.sold ?? 0)
    let err = 0
    let naive = 0
    const total = { forecast: [0, 0, 0], actual: [0, 0, 0] }
    for (const r of run.rows.filter((x) => x.warehouse_id.startsWith('wh-'))) {
      for (let d = 0; d < 3; d++) {
        const actual = sold(r.warehouse_id, r.sku, d)
        err += Math.abs(r.forecast[d]! - actual)
        naive += Math.abs(sold(r.warehouse_id, r.sku, d - 7) - actual)
        total.forecast[d]! += r.forecast[d]!
        total.actual[d]! += actual
      }
    }
    expect(err / naive, `absolute error ${err.toFixed(0)} vs seasonal-naive ${naive.toFixed(0)}`).toBeLessThan(0.9)
    // The city's total for each day within 15 %, and the Monday dip against Saturday (planted 0.7 / 1.8).
    total.forecast.forEach((f, d) => expect(Math.abs(f - total.actual[d]!) / total.actual[d]!, `day ${d}: ${f} vs ${total.actual[d]}`).toBeLessThan(0.15))
    const ratio = total.forecast[2]! / total.forecast[0]!
    expect(ratio).toBeLessThan(0.6)
    expect(Math.abs(ratio - total.actual[2]! / total.actual[0]!)).toBeLessThan(0.1)
    expect(run.meanMase).toBeLessThan(1)
    expect(run.meanMase!).toBeLessThan(run.baselineMeanMase!)
  })

  it('gives exact quantities: usable stock excludes what expires first, minimums, fallbacks', () => {
    // sku-r1: the pattern for Saturday, Sunday, Monday; seasonal-naive forecasts it without error.
    const r1 = row('w-960', 'sku-r1')
    // The run's model (pooled over every series; Holt-Winters reproduces an exact weekly pattern
    // too) or its own winner, seasonal-naive, when the run's model does worse on it: the same days.
    expect(['seasonal_naive', 'holt_winters']).toContain(r1.model)
    expect(r1).toMatchObject({ forecast: [18, 16, 7], forecast_total: 41, history_days: HISTORY, history_sold: PATTERN.reduce((a, b) => a + b, 0) * 8, on_hand: 40 })
    // FIFO at 41/3 a day: A is sellable until the end of Saturday (UTC date), the rest of it is lost; B stays in date.
    const daysA = (Date.parse(`${localDate(DAY0)}T00:00:00Z`) + DAY - AT) / DAY
    const sellsA = Math.min(30, Math.floor((41 / 3) * daysA))
    expect(r1).toMatchObject({ usable_on_hand: sellsA + 10, unusable_on_hand: 30 - sellsA, min_stock: 3, suggested_qty: Math.max(0, Math.ceil(41 * 1.2) - (sellsA + 10)) })
    expect(r1.backtest_mae).toBeCloseTo(0, 6)
    // sku-r2: three days of history are too few to backtest: the mean day; 12 on hand, in date.
    expect(row('w-960', 'sku-r2')).toMatchObject({ model: 'mean', fallback: 'short_history', history_days: 3, forecast: [6, 6, 6], usable_on_hand: 12, suggested_qty: Math.ceil(18 * 1.2) - 12 })
    // sku-r3: no sale in the window: forecast 0; its minimum stock of 25 less the 5 on hand.
    expect(row('w-960', 'sku-r3')).toMatchObject({ model: 'zero', fallback: 'all_zero', history_days: HISTORY, forecast: [0, 0, 0], usable_on_hand: 5, min_stock: 25, suggested_qty: 20 })
  })

  it('serves the newest run on /v1/restock with filters and row scope', async () => {
    const all = await s.get('/v1/restock?limit=5000', 'analyst')
    expect(all.status, JSON.stringify(all.body)).toBe(200)
    expect(all.body.run).toMatchObject({ run_date: run.runDate, series: run.rows.length, computed_at: new Date(run.computedAt).toISOString() })
    expect(all.body.rows).toHaveLength(run.rows.length)
    expect(all.body.summary).toEqual({ series: run.rows.length, suggested_orders: run.rows.filter((r) => r.suggested_qty > 0).length, suggested_units: run.rows.reduce((n, r) => n + r.suggested_qty, 0) })
    expect(all.body.rows.find((r: RestockRow) => r.sku === 'sku-r1')).toMatchObject({ warehouse_id: 'w-960', suggested_qty: row('w-960', 'sku-r1').suggested_qty, forecast: [18, 16, 7] })
    const suggested = (await s.get('/v1/restock?suggested=true&limit=5000', 'analyst')).body.rows as RestockRow[]
    expect(suggested.length).toBe(all.body.summary.suggested_orders)
    expect(suggested.every((r) => r.suggested_qty > 0)).toBe(true)
    expect(suggested.map((r) => r.suggested_qty)).toEqual([...suggested.map((r) => r.suggested_qty)].sort((a, b) => b - a))
    const veg = (await s.get('/v1/restock?category=vegetables&limit=5000', 'analyst')).body.rows as RestockRow[]
    expect(veg.length).toBeGreaterThan(0)
    expect(veg.every((r) => r.category_id === 'vegetables')).toBe(true)
    // A leader sees her communities only, a supplier his SKUs only.
    const leader = (await s.get('/v1/restock?limit=5000', 'leader')).body.rows as RestockRow[]
    expect(new Set(leader.map((r) => r.community_id))).toEqual(new Set(['c-001', 'c-002']))
    const supplier = (await s.get('/v1/restock?limit=5000', 'supplier')).body.rows as RestockRow[]
    expect(new Set(supplier.map((r) => r.sku))).toEqual(new Set(['sku-0001', 'sku-0004']))
    expect((await s.get('/v1/restock?community=c-003', 'leader')).status).toBe(403)
    expect((await s.get('/v1/restock?date=yesterday', 'analyst')).body.message).toMatch(/querystring\.date/)
    expect((await s.get('/v1/restock?date=2020-01-01', 'analyst')).body).toMatchObject({ run: null, rows: [] })
    expect((await s.get('/v1/restock')).status).toBe(200)
    expect((await s.get('/v1/restock', null)).status).toBe(401)
  })

  it('a re-run of the day replaces what is served', async () => {
    const again = await runRestock(s.ch, { ...settings, safetyFactor: 2 }, { at: AT + HOUR })
    expect(again.runDate).toBe(run.runDate)
    const res = await s.get(`/v1/restock?date=${run.runDate}&sku=sku-r2&limit=5000`, 'analyst')
    expect(res.body.run.computed_at).toBe(new Date(again.computedAt).toISOString())
    expect(res.body.rows).toEqual([expect.objectContaining({ sku: 'sku-r2', safety_factor: 2, suggested_qty: 36 - 12 })])
  })

  it('the daily schedule runs a day that has no run yet, once', async () => {
    const next = AT + DAY
    const abort = new AbortController()
    const daily = runRestockDaily(s.ch, settings, { log: silent, signal: abort.signal, now: () => next })
    const deadline = Date.now() + 60_000
    while (!(await lastRestockRun(s.ch, localDate(next)))) {
      expect(Date.now(), 'no run for the next day').toBeLessThan(deadline)
      await new Promise((r) => setTimeout(r, 50))
    }
    abort.abort()
    await daily
    const runs = await s.sql<{ n: number }>('SELECT count() AS n FROM restock_runs WHERE run_date = toDate({d:String})', { d: localDate(next) })
    expect(Number(runs[0]!.n)).toBe(1)
  })

  it('two instances on the daily schedule write one run for the day: the one that claims it runs (issue 21)', async () => {
    const day = AT + 2 * DAY
    const abort = new AbortController()
    const lines: string[] = []
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) })
    const instances = ['a', 'b'].map((instance) => runRestockDaily(s.ch, settings, { log, signal: abort.signal, now: () => day, instance }))
    await waitFor('a run for the day', async () => (await lastRestockRun(s.ch, localDate(day))) !== null)
    await waitFor('the other instance to stand aside', async () => lines.some((l) => l.includes('another instance runs today')))
    abort.abort()
    await Promise.all(instances)
    const runs = await s.sql<{ n: number }>('SELECT count() AS n FROM restock_runs WHERE run_date = toDate({d:String})', { d: localDate(day) })
    expect(Number(runs[0]!.n)).toBe(1)
  })
})

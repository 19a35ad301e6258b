import type { Logger } from 'pino'
import { localDateOf, localMidnight, sleep, type Config } from '../../schemas/index.js'
import { hostname } from 'node:os'
import { insertRows, queryRows, type ClickHouse } from '../../sinks/index.js'
import { claimOnce } from '../claims.js'
import { forecastSeriesSteps, pooledChoice, runSteps, withModel, type SeriesForecast } from './backtest.js'
import { cubeTable, fifoRisk, INVENTORY_MOVEMENTS_CUBE, lastRestockRun, measureSql } from '../../queries/index.js'
import { ModelName } from './models.js'

/*
 * The restock job (issue 6): a scheduled pipeline whose source is the inventory cubes and whose
 * sink is restock_forecast. Per community warehouse and sku:
 *   history    daily sales (local days in API_TIMEZONE, from the hour rollup) of the last
 *              historyDays complete days, from the pair's first movement if that is later;
 *   forecast   the next horizonDays days (today first) by the model its rolling backtest chose;
 *   usable     the stock on hand less what expires within the horizon before the forecast
 *              demand takes it (FIFO over the batches); a shortfall on record — sales without
 *              stock — is owed and counts against it;
 *   suggested  max(ceil(forecast × safetyFactor), minStock) − usable, not below 0.
 * Today's partial sales are not history: a run at 05:00 forecasts today, tomorrow and the day after.
 */

const DAY = 86_400_000
const HOUR = 3_600_000

export type RestockSettings = Config['restock'] & { readonly timezone: string }

export function restockSettings(config: Config): RestockSettings {
  return { ...config.restock, timezone: config.api.timezone }
}

/** One forecast row, as restock_forecast holds it. */
export interface RestockRow {
  run_date: string
  computed_at: number
  warehouse_id: string
  community_id: string
  sku: string
  category_id: string
  model: string
  fallback: string
  history_days: number
  history_sold: number
  forecast: number[]
  forecast_total: number
  on_hand: number
  usable_on_hand: number
  unusable_on_hand: number
  safety_factor: number
  min_stock: number
  suggested_qty: number
  backtest_mae: number | null
  backtest_mape: number | null
  backtest_mase: number | null
  baseline_mase: number | null
}

export interface RestockRunResult {
  readonly runDate: string
  readonly computedAt: number
  readonly rows: readonly RestockRow[]
  readonly models: Readonly<Record<string, number>>
  /** Mean backtest MASE of the chosen models, and of seasonal-naive on the same series. */
  readonly meanMase: number | null
  readonly baselineMeanMase: number | null
  readonly durationMs: number
}

/** A DateTime64(3) value as ClickHouse parses it from JSON. */
const dateTime64 = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
const addDays = (date: string, n: number) => new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10)
const daysBetween = (a: string, b: string) => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY)

/** Daily sales per pair and local day, from one day before the window (to see pairs that existed before it). */
const HISTORY = `
  SELECT warehouse_id, any(community_id) AS community_id, sku, toString(toDate(window_start, {tz:String})) AS day, toUInt64(${measureSql(INVENTORY_MOVEMENTS_CUBE, 'qty', "kind = 'sale'")}) AS sold
  FROM ${cubeTable(INVENTORY_MOVEMENTS_CUBE, 'hour')}
  WHERE window_start >= toDateTime({pre:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC')
  GROUP BY warehouse_id, sku, day`

/** Pairs with movements in a UTC day that ends by the window's start: they existed before it. */
const EARLIER = `
  SELECT DISTINCT warehouse_id, sku FROM ${cubeTable(INVENTORY_MOVEMENTS_CUBE, 'day')} WHERE window_start < toDateTime({pre:UInt32}, 'UTC')`

const BATCHES = `
  SELECT warehouse_id, any(community_id) AS community_id, sku, batch_id,
         toInt64(sum(received)) - toInt64(sum(sold)) - toInt64(sum(lost)) AS on_hand,
         -- aliases never reuse a column name: max(expiry_date) must see the column
         if(max(expiry_date) IS NULL, '', toString(max(expiry_date))) AS expires
  FROM inventory_batches
  GROUP BY warehouse_id, sku, batch_id
  HAVING on_hand != 0`

const CATEGORIES = 'SELECT sku, any(category_id) AS category FROM products_day GROUP BY sku'

interface Batch { batch_id: string; on_hand: number; expires: string }

/**
 * Stock of one pair for an order covering [at, horizonEnd): demand takes the batches first-expiring
 * first at `perDay`; what of a batch expiring before horizonEnd is not taken by then is lost
 * (unusable); a batch still in date at horizonEnd is stock whatever the demand. A shortfall on
 * record (sales without stock) is owed and counts against the usable stock.
 */
export function usableStock(batches: readonly Batch[], perDay: number, at: number, horizonEnd: number): { onHand: number; usable: number; unusable: number } {
  const stocked = batches.filter((b) => b.on_hand > 0).sort((a, b) => (a.expires || '9999').localeCompare(b.expires || '9999') || a.batch_id.localeCompare(b.batch_id))
  const owed = batches.filter((b) => b.on_hand < 0).reduce((s, b) => s + b.on_hand, 0)
  const fifo = fifoRisk(stocked.map((b) => ({ on_hand: b.on_hand, expiry_date: b.expires || null })), perDay, at)
  // days_to_expiry is rounded to tenths: compare the exact sellable end (the end of its expiry date, UTC).
  const lost = stocked.reduce((s, b, i) => (b.expires && Date.parse(`${b.expires}T00:00:00Z`) + DAY <= horizonEnd ? s + fifo[i]!.at_risk : s), 0)
  const positive = stocked.reduce((s, b) => s + b.on_hand, 0)
  return { onHand: positive + owed, usable: positive - lost + owed, unusable: lost }
}

/** The order that covers the forecast with the safety factor and the minimum stock, after usable stock. */
export function suggestedQuantity(forecastTotal: number, safetyFactor: number, minStock: number, usable: number): number {
  // 10 × 1.2 is 12.000000000000002 in floating point: a needed unit is a whole unit beyond 1e-9.
  const need = Math.max(Math.ceil(forecastTotal * safetyFactor - 1e-9), minStock)
  return Math.max(0, need - usable)
}

/** A warehouse × sku series: its daily sales history (oldest first), stock batches and category. */
export interface RestockSeries {
  readonly warehouse_id: string
  readonly community_id: string
  readonly sku: string
  readonly category_id: string
  readonly history: readonly number[]
  readonly batches: readonly Batch[]
}

/**
 * Reads the restock job's inputs as of `at`: per warehouse and sku, the sales of each complete
 * local day of the last historyDays (from the pair's first movement if it is later), and the
 * batches on record. Pairs come sorted by warehouse and sku.
 */
export async function loadRestockSeries(ch: ClickHouse, settings: Pick<RestockSettings, 'historyDays' | 'timezone'>, at: number): Promise<{ runDate: string; series: RestockSeries[] }> {
  const tz = settings.timezone
  const runDate = localDateOf(at, tz)
  const startDate = addDays(runDate, -settings.historyDays)
  const to = localMidnight(at, tz)
  // Local midnight of the first history day (12:00 of that day, back to its midnight: DST-proof).
  const from = localMidnight(to - settings.historyDays * DAY + 12 * HOUR, tz)
  const pre = from - DAY
  const params = { tz, pre: Math.floor(pre / 1000), to: Math.floor(to / 1000) }
  const [history, earlier, batches, categories] = await Promise.all([
    queryRows<{ warehouse_id: string; community_id: string; sku: string; day: string; sold: number }>(ch, HISTORY, params),
    queryRows<{ warehouse_id: string; sku: string }>(ch, EARLIER, params),
    queryRows<{ warehouse_id: string; community_id: string; sku: string; batch_id: string; on_hand: number; expires: string }>(ch, BATCHES, {}),
    queryRows<{ sku: string; category: string }>(ch, CATEGORIES, {}),
  ])
  const category = new Map(categories.map((c) => [c.sku, c.category]))
  const existedBefore = new Set(earlier.map((e) => `${e.warehouse_id}|${e.sku}`))
  interface Pair { warehouse_id: string; community_id: string; sku: string; sold: Map<number, number>; first: number; batches: Batch[] }
  const pairs = new Map<string, Pair>()
  const pair = (w: string, c: string, sku: string) => {
    const k = `${w}|${sku}`
    let p = pairs.get(k)
    if (!p) pairs.set(k, (p = { warehouse_id: w, community_id: c, sku, sold: new Map(), first: existedBefore.has(k) ? 0 : settings.historyDays, batches: [] }))
    return p
  }
  for (const h of history) {
    const p = pair(h.warehouse_id, h.community_id, h.sku)
    const i = daysBetween(startDate, h.day)
    if (i < 0) p.first = 0 // moved before the window: the series is the whole window
    else if (i < settings.historyDays) {
      p.sold.set(i, Number(h.sold))
      p.first = Math.min(p.first, i)
    }
  }
  for (const b of batches) pair(b.warehouse_id, b.community_id, b.sku).batches.push({ batch_id: b.batch_id, on_hand: Number(b.on_hand), expires: b.expires })
  const series = [...pairs.values()]
    .sort((a, b) => a.warehouse_id.localeCompare(b.warehouse_id) || a.sku.localeCompare(b.sku))
    .map((p) => ({
      warehouse_id: p.warehouse_id,
      community_id: p.community_id,
      sku: p.sku,
      category_id: category.get(p.sku) ?? '',
      // A pair with stock but no movement in the window or before it has no days yet: it is new today.
      history: Array.from({ length: settings.historyDays - p.first }, (_, i) => p.sold.get(p.first + i) ?? 0),
      batches: p.batches,
    }))
  return { runDate, series }
}

/**
 * Runs the restock forecast as of `at` and writes its rows and a completed-run row. Idempotent per
 * (run date, computed_at): a retried insert is deduplicated; a later run of the same day replaces
 * what readers see.
 */
export async function runRestock(ch: ClickHouse, settings: RestockSettings, opts: { at: number; log?: Logger; now?: () => number }): Promise<RestockRunResult> {
  const now = opts.now ?? Date.now
  const started = now()
  const { runDate, series } = await loadRestockSeries(ch, settings, opts.at)
  const computedAt = now()
  const out: RestockRow[] = []
  const models: Record<string, number> = {}
  let maseSum = 0
  let baseSum = 0
  let maseN = 0
  const backtest = { horizon: settings.horizonDays, folds: settings.backtestFolds }
  const horizonEnd = localMidnight(opts.at, settings.timezone) + settings.horizonDays * DAY
  // First every series' rolling backtest, then the run's model from all of them (pooledChoice):
  // each series is forecast by it where it fits, by its own winner where it does not. A city is
  // thousands of series of up to ~60 fits each: the event loop gets a turn every ~20 ms (between
  // fits), so an API or a generator in the same process (npm start) keeps answering.
  const clock = { last: performance.now() }
  const backtests: SeriesForecast[] = []
  for (const p of series) backtests.push(await runSteps(forecastSeriesSteps(p.history, backtest), clock))
  const runModel = pooledChoice(backtests)
  for (const [i, p] of series.entries()) {
    const y = p.history
    const own = backtests[i]!
    const picked = withModel(own, runModel)
    const forecast = picked.forecast.map((v) => Math.round(v * 1000) / 1000)
    const total = forecast.reduce((s, v) => s + v, 0)
    const stock = usableStock(p.batches, total / settings.horizonDays, opts.at, horizonEnd)
    const minStock = settings.minStock[p.sku] ?? settings.minStock['*'] ?? 0
    // The backtest scores of the model used (none for a fallback) and of the baseline.
    const chosen = own.scores.find((s) => s.model === picked.model)
    const baseline = own.scores.find((s) => s.model === ModelName.SEASONAL_NAIVE)
    if (chosen?.mase != null && baseline?.mase != null) {
      maseSum += chosen.mase
      baseSum += baseline.mase
      maseN++
    }
    models[picked.model] = (models[picked.model] ?? 0) + 1
    out.push({
      run_date: runDate,
      computed_at: computedAt,
      warehouse_id: p.warehouse_id,
      community_id: p.community_id,
      sku: p.sku,
      category_id: p.category_id,
      model: picked.model,
      fallback: own.fallback ?? '',
      history_days: y.length,
      history_sold: y.reduce((s, v) => s + v, 0),
      forecast,
      forecast_total: Math.round(total * 1000) / 1000,
      on_hand: stock.onHand,
      usable_on_hand: stock.usable,
      unusable_on_hand: stock.unusable,
      safety_factor: settings.safetyFactor,
      min_stock: minStock,
      suggested_qty: suggestedQuantity(total, settings.safetyFactor, minStock, stock.usable),
      backtest_mae: chosen?.mae ?? null,
      backtest_mape: chosen?.mape ?? null,
      backtest_mase: chosen?.mase ?? null,
      baseline_mase: baseline?.mase ?? null,
    })
  }
  const result: RestockRunResult = {
    runDate,
    computedAt,
    rows: out,
    models,
    meanMase: maseN ? maseSum / maseN : null,
    baselineMeanMase: maseN ? baseSum / maseN : null,
    durationMs: 0,
  }
  const CHUNK = 10_000
  for (let i = 0; i < out.length; i += CHUNK) {
    await insertRows(ch, 'restock_forecast', out.slice(i, i + CHUNK).map((r) => ({ ...r, computed_at: dateTime64(r.computed_at) })), { deduplicationToken: `restock/${runDate}/${computedAt}/${i}` })
  }
  const durationMs = now() - started
  await insertRows(ch, 'restock_runs', [{
    run_date: runDate,
    computed_at: dateTime64(computedAt),
    series: out.length,
    models,
    mean_mase: result.meanMase,
    baseline_mean_mase: result.baselineMeanMase,
    duration_ms: durationMs,
    settings: JSON.stringify({ ...settings, at: new Date(opts.at).toISOString() }),
  }], { deduplicationToken: `restock-run/${runDate}/${computedAt}` })
  opts.log?.info({ runDate, series: out.length, models, meanMase: result.meanMase, baselineMeanMase: result.baselineMeanMase, durationMs }, 'restock forecast written')
  return { ...result, durationMs }
}

/** How long a claimed restock run may take before another instance takes the day over. */
export const RESTOCK_LEASE_MS = 3_600_000

/**
 * Runs the restock job daily at `runHour` local time until the signal aborts; at start it runs at
 * once when today has no completed run yet (a restart after the hour does not skip a day). A
 * failed run is logged and retried at the next hour.
 *
 * Several instances may run it: a day's run is claimed (claims.ts) per lease slot of
 * RESTOCK_LEASE_MS after the hour, and only the instance holding the slot's claim runs. The
 * others look again at the next slot: if the holder died before completing the run, one of them
 * claims that slot and runs the day.
 */
export async function runRestockDaily(ch: ClickHouse, settings: RestockSettings, opts: { log: Logger; signal: AbortSignal; now?: () => number; instance?: string }): Promise<void> {
  const now = opts.now ?? Date.now
  const instance = opts.instance ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  while (!opts.signal.aborted) {
    const t = now()
    const today = localDateOf(t, settings.timezone)
    const due = localMidnight(t, settings.timezone) + settings.runHour * HOUR
    let wait: number
    try {
      // The first run ever starts at once, so a new installation has forecasts before the hour.
      const ranToday = (await lastRestockRun(ch, today)) !== null
      const runNow = !ranToday && (t >= due || (await lastRestockRun(ch)) === null)
      const slot = Math.floor(Math.max(0, t - due) / RESTOCK_LEASE_MS)
      const mine = runNow && (await claimOnce(ch, `restock|${today}|${slot}`, instance, t))
      if (mine) await runRestock(ch, settings, { at: t, log: opts.log, now })
      else if (runNow) opts.log.info({ day: today, slot }, 'another instance runs today\'s restock; looking again at the next slot')
      const nextSlot = due + (slot + 1) * RESTOCK_LEASE_MS
      const next = runNow && !mine ? nextSlot : !ranToday && !runNow ? due : localMidnight(t + DAY, settings.timezone) + settings.runHour * HOUR
      wait = Math.max(1_000, next - now())
    } catch (err) {
      opts.log.error({ err }, 'restock run failed; retrying in an hour')
      wait = HOUR
    }
    await sleep(wait, opts.signal)
  }
}

import { ARIMA_111, fitExactArima, SARIMA_100_011_7, type ArimaSpec } from './arma.js'

/*
 * Daily demand forecasting models for the restock job (issue 6). Each is a pure function from a
 * daily sales history (oldest first, one value per local day, zeros included) to the next h days.
 * A model says null when it cannot forecast the series: too short, a fit that failed, or a fit
 * that diverged (see `sane`). The backtest (backtest.ts) picks one per series.
 */

/** The weekly season of daily sales. */
export const SEASON = 7

export const ModelName = {
  SEASONAL_NAIVE: 'seasonal_naive',
  ARIMA_111: 'arima_111',
  SARIMA_WEEKLY: 'sarima_weekly',
  HOLT_WINTERS: 'holt_winters',
  CROSTON: 'croston',
  MEAN: 'mean',
  ZERO: 'zero',
} as const
export type ModelName = (typeof ModelName)[keyof typeof ModelName]

export interface ForecastModel {
  readonly name: ModelName
  /** The shortest history it fits. */
  readonly minLength: number
  /** The next h values after y, or null when it cannot forecast y. */
  forecast(y: readonly number[], h: number): number[] | null
}

/** An exact ARIMA (arma.ts) as a forecast model; a series flat after its differencing has no fit. */
function exactArimaModel(name: ModelName, minLength: number, spec: ArimaSpec, lag: number): ForecastModel {
  return {
    name,
    minLength,
    forecast(y, h) {
      if (y.length < minLength || constant(diff(y, lag))) return null
      const f = fitExactArima(y, h, spec)?.forecast ?? null
      return f && sane(f, y)
    },
  }
}

/**
 * A forecast is used only if every value is finite and within reach of the history (a guard kept
 * from the arima package, whose fit diverged without an error on statsmodels' `realcons` series:
 * 7e9 for a series near 9e3). Negative demand is 0.
 */
export function sane(f: readonly number[], y: readonly number[]): number[] | null {
  const max = y.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
  if (!f.every((v) => Number.isFinite(v) && Math.abs(v) <= 3 * max + 10)) return null
  return f.map((v) => Math.max(0, v))
}

const seasonalNaive: ForecastModel = {
  name: ModelName.SEASONAL_NAIVE,
  minLength: SEASON,
  forecast(y, h) {
    if (y.length < SEASON) return null
    return Array.from({ length: h }, (_, i) => y[y.length - SEASON + (i % SEASON)]!)
  },
}

/**
 * ARIMA(1,1,1) without a constant, as statsmodels' ARIMA(order=(1,1,1)) fits it (exact likelihood,
 * arma.ts). A series whose variance the fit cannot see (constant after differencing) has no ARIMA
 * forecast.
 */
const arima111 = exactArimaModel(ModelName.ARIMA_111, 10, ARIMA_111, 1)

/**
 * SARIMA(1,0,0)(0,1,1)₇: this weekday last week, corrected by a smoothed seasonal error and a
 * short-memory autoregression — the weekly-seasonal ARIMA for daily retail demand; fitted as
 * statsmodels' SARIMAX fits it (exact likelihood, arma.ts).
 */
const sarimaWeekly = exactArimaModel(ModelName.SARIMA_WEEKLY, 3 * SEASON, SARIMA_100_011_7, SEASON)

/**
 * Additive Holt-Winters with a damped trend and a weekly season. Smoothing parameters from a grid,
 * by the in-sample one-step squared error; the state starts from the first two weeks.
 */
export function holtWinters(y: readonly number[], h: number, m = SEASON): number[] | null {
  const n = y.length
  if (n < 2 * m) return null
  const mean = (a: number, b: number) => {
    let s = 0
    for (let i = a; i < b; i++) s += y[i]!
    return s / (b - a)
  }
  const level0 = mean(0, m)
  const trend0 = (mean(m, 2 * m) - level0) / m
  const season0 = Array.from({ length: m }, (_, i) => y[i]! - level0)
  let best: { sse: number; f: number[] } | undefined
  for (const alpha of [0.05, 0.1, 0.2, 0.35, 0.5]) {
    for (const beta of [0, 0.02, 0.1]) {
      for (const gamma of [0.05, 0.15, 0.3]) {
        for (const phi of [0.8, 0.9, 0.98]) {
          let level = level0
          let trend = trend0
          const season = [...season0]
          let sse = 0
          for (let t = m; t < n; t++) {
            const s = season[t % m]!
            const err = y[t]! - (level + phi * trend + s)
            sse += err * err
            const prevLevel = level
            level = alpha * (y[t]! - s) + (1 - alpha) * (prevLevel + phi * trend)
            trend = beta * (level - prevLevel) + (1 - beta) * phi * trend
            season[t % m] = gamma * (y[t]! - level) + (1 - gamma) * s
          }
          if (best && sse >= best.sse) continue
          const f: number[] = []
          let damp = 0
          for (let k = 1; k <= h; k++) {
            damp += phi ** k
            f.push(level + damp * trend + season[(n + k - 1) % m]!)
          }
          best = { sse, f }
        }
      }
    }
  }
  return best ? sane(best.f, y) : null
}

const holtWintersModel: ForecastModel = {
  name: ModelName.HOLT_WINTERS,
  minLength: 2 * SEASON,
  forecast: (y, h) => holtWinters(y, h),
}

/**
 * Croston's method with the Syntetos-Boylan correction, for intermittent demand (most days
 * without a sale): smoothed size of the non-zero days over the smoothed interval between them.
 */
export function croston(y: readonly number[], h: number, alpha = 0.1): number[] | null {
  let size: number | undefined
  let interval = 1
  let since = 1
  for (const v of y) {
    if (v > 0) {
      if (size === undefined) {
        size = v
        interval = since
      } else {
        size += alpha * (v - size)
        interval += alpha * (since - interval)
      }
      since = 1
    } else {
      since++
    }
  }
  if (size === undefined) return Array.from({ length: h }, () => 0)
  const rate = (1 - alpha / 2) * (size / interval)
  return Array.from({ length: h }, () => rate)
}

const crostonModel: ForecastModel = {
  name: ModelName.CROSTON,
  minLength: SEASON,
  forecast: (y, h) => croston(y, h),
}

/** The average day: for histories too short for anything else (a new product). */
const meanModel: ForecastModel = {
  name: ModelName.MEAN,
  minLength: 1,
  forecast(y, h) {
    if (y.length === 0) return null
    const avg = y.reduce((s, v) => s + v, 0) / y.length
    return Array.from({ length: h }, () => avg)
  },
}

export const MODELS: Readonly<Record<Exclude<ModelName, 'zero'>, ForecastModel>> = {
  seasonal_naive: seasonalNaive,
  arima_111: arima111,
  sarima_weekly: sarimaWeekly,
  holt_winters: holtWintersModel,
  croston: crostonModel,
  mean: meanModel,
}

function diff(y: readonly number[], lag: number): number[] {
  return y.slice(lag).map((v, i) => v - y[i]!)
}

function constant(y: readonly number[]): boolean {
  return y.every((v) => v === y[0])
}

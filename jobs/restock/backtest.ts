import { MODELS, ModelName, SEASON, type ForecastModel } from './models.js'

/*
 * Rolling-origin backtest and model choice per series. For each of `folds` origins (the last one
 * ends with the history), every candidate is fitted on the days before the origin and forecasts
 * the next `horizon` days; the candidate with the lowest mean absolute error over all folds wins
 * and is refitted on the whole history. Accuracy is reported per model as
 *   MAE, MAPE (days with sales only: a zero day has no percentage error), and
 *   MASE = MAE / in-sample MAE of the seasonal-naive one-step forecast (Hyndman & Koehler 2006,
 *   seasonal scaling) — below 1 means better than "the same weekday last week".
 */

export interface BacktestOptions {
  /** Days forecast from each origin. */
  readonly horizon: number
  /** Rolling origins, one day apart. */
  readonly folds: number
  /** Share of zero days from which a series counts as intermittent (Croston joins the candidates). */
  readonly intermittentShare?: number
}

export interface ModelScore {
  readonly model: ModelName
  readonly mae: number
  readonly mape: number | null
  readonly mase: number | null
}

export interface SeriesForecast {
  /** The model whose forecast is used. */
  readonly model: ModelName
  /** The next `horizon` days after the history. */
  readonly forecast: readonly number[]
  /** Backtest scores of every candidate that forecast all folds (the chosen one first). */
  readonly scores: readonly ModelScore[]
  /** Why a fallback was used instead of a backtest, if it was. */
  readonly fallback: 'all_zero' | 'short_history' | null
}

/** The candidates a backtest compares, in order of preference on a tie (simpler first). */
const CANDIDATES: readonly ForecastModel[] = [MODELS.seasonal_naive, MODELS.holt_winters, MODELS.sarima_weekly, MODELS.arima_111]

/** Mean absolute seasonal difference of y: the MASE scale (the lag-1 difference where y has no weekly variation). */
export function maseScale(y: readonly number[], m = SEASON): number | null {
  for (const lag of [m, 1]) {
    if (y.length <= lag) continue
    let s = 0
    for (let t = lag; t < y.length; t++) s += Math.abs(y[t]! - y[t - lag]!)
    const scale = s / (y.length - lag)
    if (scale > 0) return scale
  }
  return null
}

/** The errors of a model's rolling-origin forecasts over the last `folds` origins, or null if any fold fails. */
export function rollingErrors(model: ForecastModel, y: readonly number[], opts: BacktestOptions): { actual: number[]; predicted: number[] } | null {
  const actual: number[] = []
  const predicted: number[] = []
  for (let j = opts.folds - 1; j >= 0; j--) {
    const origin = y.length - opts.horizon - j
    if (origin < model.minLength) return null
    const f = model.forecast(y.slice(0, origin), opts.horizon)
    if (!f) return null
    for (let k = 0; k < opts.horizon; k++) {
      actual.push(y[origin + k]!)
      predicted.push(f[k]!)
    }
  }
  return { actual, predicted }
}

/** MAE, MAPE and MASE of forecasts against actuals, scaled by `scale`. */
export function score(model: ModelName, actual: readonly number[], predicted: readonly number[], scale: number | null): ModelScore {
  let abs = 0
  let pct = 0
  let pctN = 0
  actual.forEach((a, i) => {
    const e = Math.abs(a - predicted[i]!)
    abs += e
    if (a > 0) {
      pct += e / a
      pctN++
    }
  })
  const mae = actual.length ? abs / actual.length : 0
  return { model, mae, mape: pctN ? (100 * pct) / pctN : null, mase: scale ? mae / scale : null }
}

/**
 * Forecasts the next `horizon` days of a daily series with the model that did best in its rolling
 * backtest (on fewer folds when the history is short; a model whose minimum length an origin does
 * not reach sits the backtest out). Fallbacks: an all-zero history forecasts 0; a history too short
 * for one fold (fewer than SEASON + horizon days) forecasts its mean day.
 */
export function forecastSeries(y: readonly number[], opts: BacktestOptions): SeriesForecast {
  const { horizon } = opts
  if (y.every((v) => v === 0)) return { model: ModelName.ZERO, forecast: Array.from({ length: horizon }, () => 0), scores: [], fallback: 'all_zero' }
  const fallback = (): SeriesForecast => ({ model: ModelName.MEAN, forecast: MODELS.mean.forecast(y, horizon)!, scores: [], fallback: 'short_history' })
  // A history shorter than the folds need backtests on fewer (a new product's third week still gets
  // a choice); below one fold of seasonal-naive there is nothing to compare.
  const folds = Math.min(opts.folds, y.length - SEASON - horizon + 1)
  if (folds < 1) return fallback()
  const backtest = { ...opts, folds }
  const scale = maseScale(y.slice(0, y.length - horizon - folds + 1))
  const zeroShare = y.filter((v) => v === 0).length / y.length
  const candidates = zeroShare >= (backtest.intermittentShare ?? 0.5) ? [...CANDIDATES, MODELS.croston] : CANDIDATES
  const scores: ModelScore[] = []
  for (const m of candidates) {
    const e = rollingErrors(m, y, backtest)
    if (e) scores.push(score(m.name, e.actual, e.predicted, scale))
  }
  // Stable: on equal MAE the earlier (simpler) candidate stays first.
  const ranked = [...scores].sort((a, b) => a.mae - b.mae)
  for (const s of ranked) {
    const f = (candidates.find((c) => c.name === s.model) as ForecastModel).forecast(y, horizon)
    if (f) return { model: s.model, forecast: f, scores: [s, ...ranked.filter((r) => r !== s)], fallback: null }
  }
  return fallback()
}

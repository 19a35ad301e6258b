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
  /** The model whose forecast is used: the series' own backtest winner (see pooledChoice for the run's). */
  readonly model: ModelName
  /** The next `horizon` days after the history. */
  readonly forecast: readonly number[]
  /** Backtest scores of every candidate that forecast all folds (the chosen one first). */
  readonly scores: readonly ModelScore[]
  /** Why a fallback was used instead of a backtest, if it was. */
  readonly fallback: 'all_zero' | 'short_history' | null
  /** Every candidate that passed the backtest, refitted on the whole history, best first. */
  readonly ranked: readonly { readonly model: ModelName; readonly forecast: readonly number[] }[]
}

/**
 * The run's model: the candidate with the lowest mean backtest MASE over the series that scored
 * it (at least half of them). One choice from every series' folds together is far less noisy than
 * a choice per series from its own 14 folds of 3 days, which loses to the best single model out of
 * sample (bench/README, restock choice). Null when no candidate was scored widely enough.
 */
export function pooledChoice(results: readonly SeriesForecast[]): ModelName | null {
  const sums = new Map<ModelName, { sum: number; n: number }>()
  let scored = 0
  for (const r of results) {
    if (r.fallback) continue
    scored++
    for (const s of r.scores) {
      if (s.mase === null) continue
      const e = sums.get(s.model) ?? { sum: 0, n: 0 }
      e.sum += s.mase
      e.n++
      sums.set(s.model, e)
    }
  }
  let best: { model: ModelName; mean: number } | null = null
  for (const m of CANDIDATES.map((c) => c.name)) {
    const e = sums.get(m)
    if (!e || e.n * 2 < scored) continue
    const mean = e.sum / e.n
    if (!best || mean < best.mean) best = { model: m, mean }
  }
  return best?.model ?? null
}

/** How much better (in backtest MAE) a series' own winner must be than the run's model for the series to keep it. */
export const OWN_WINNER_MARGIN = 0.5

/**
 * A series' forecast by the run's model where it could fit it — unless the series' own winner's
 * backtest error is under OWN_WINNER_MARGIN of the run model's on that series (a series the pooled
 * choice does not describe: an exact weekly pattern, a pattern of its own), or it could not.
 */
export function withModel(f: SeriesForecast, model: ModelName | null): { model: ModelName; forecast: readonly number[] } {
  const run = f.ranked.find((r) => r.model === model)
  const own = { model: f.model, forecast: f.forecast }
  if (!run) return own
  const mae = (m: ModelName) => f.scores.find((s) => s.model === m)?.mae
  const [ownMae, runMae] = [mae(f.model), mae(run.model)]
  return ownMae !== undefined && runMae !== undefined && ownMae < OWN_WINNER_MARGIN * runMae ? own : run
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
  return drain(rollingErrorSteps(model, y, opts))
}

/** rollingErrors one fit at a time: it yields after each fold's fit, so a caller can give the event loop a turn. */
function* rollingErrorSteps(model: ForecastModel, y: readonly number[], opts: BacktestOptions): Generator<void, { actual: number[]; predicted: number[] } | null> {
  const actual: number[] = []
  const predicted: number[] = []
  for (let j = opts.folds - 1; j >= 0; j--) {
    const origin = y.length - opts.horizon - j
    if (origin < model.minLength) return null
    const f = model.forecast(y.slice(0, origin), opts.horizon)
    yield
    if (!f) return null
    for (let k = 0; k < opts.horizon; k++) {
      actual.push(y[origin + k]!)
      predicted.push(f[k]!)
    }
  }
  return { actual, predicted }
}

/** Runs a step generator to its end, synchronously. */
function drain<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next()
    if (r.done) return r.value
  }
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
  return drain(forecastSeriesSteps(y, opts))
}

/**
 * forecastSeries one model fit at a time (a series is up to ~60 fits of a few ms each): a job in
 * a process that also serves requests runs it with `await` turns between the steps (runSteps).
 */
export function* forecastSeriesSteps(y: readonly number[], opts: BacktestOptions): Generator<void, SeriesForecast> {
  const { horizon } = opts
  const only = (model: ModelName, forecast: number[], why: SeriesForecast['fallback']): SeriesForecast => ({ model, forecast, scores: [], fallback: why, ranked: [{ model, forecast }] })
  if (y.every((v) => v === 0)) return only(ModelName.ZERO, Array.from({ length: horizon }, () => 0), 'all_zero')
  const fallback = (): SeriesForecast => only(ModelName.MEAN, MODELS.mean.forecast(y, horizon)!, 'short_history')
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
    const e = yield* rollingErrorSteps(m, y, backtest)
    if (e) scores.push(score(m.name, e.actual, e.predicted, scale))
  }
  // Stable: on equal MAE the earlier (simpler) candidate stays first.
  const ranked = [...scores].sort((a, b) => a.mae - b.mae)
  const refits: { model: ModelName; forecast: number[] }[] = []
  for (const s of ranked) {
    const f = (candidates.find((c) => c.name === s.model) as ForecastModel).forecast(y, horizon)
    if (f) refits.push({ model: s.model, forecast: f })
    yield
  }
  if (refits.length === 0) return fallback()
  const first = ranked.find((r) => r.model === refits[0]!.model)!
  return { model: first.model, forecast: refits[0]!.forecast, scores: [first, ...ranked.filter((r) => r !== first)], fallback: null, ranked: refits }
}

/**
 * Runs a step generator to its end, giving the event loop a turn whenever `sliceMs` has passed
 * since the last one: CPU-heavy work that shares a process with an API keeps its latency low.
 */
export async function runSteps<T>(steps: Generator<void, T>, clock: { last: number }, sliceMs = 20): Promise<T> {
  for (;;) {
    const r = steps.next()
    if (r.done) return r.value
    if (performance.now() - clock.last > sliceMs) {
      await new Promise((resolve) => setImmediate(resolve))
      clock.last = performance.now()
    }
  }
}

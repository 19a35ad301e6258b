import { forecastSeries, maseScale, type BacktestOptions } from './backtest.js'
import { MODELS, ModelName, type ForecastModel } from './models.js'

/*
 * Out-of-sample accuracy of the forecasting, for `streamcube backtest`. The last `origins` days
 * before the end of each series are evaluation origins; from each, every model forecasts the next
 * `horizon` days from the history before it, and so does the whole per-series choice
 * (forecastSeries, which runs its own inner backtest on that history only). Scoring the choice on
 * days it never saw is what keeps its figure honest: its inner backtest score is optimistic, since
 * the model was picked on those very days.
 */

export interface EvaluationOptions extends BacktestOptions {
  /** Evaluation origins, one day apart, the last ending with the series. */
  readonly origins: number
}

/** Errors of one forecaster on one series: absolute errors, percentage errors (days with sales), and the MASE scale. */
export interface SeriesErrors {
  readonly abs: number[]
  readonly pct: number[]
  readonly scale: number | null
}

export interface SeriesEvaluation {
  /** By model name, plus 'chosen' for the per-series choice; a model that failed an origin is absent. */
  readonly errors: Readonly<Record<string, SeriesErrors>>
  /** What the choice picked at each origin. */
  readonly picks: readonly ModelName[]
}

const EVALUATED: readonly ForecastModel[] = [MODELS.seasonal_naive, MODELS.holt_winters, MODELS.sarima_weekly, MODELS.arima_111, MODELS.croston, MODELS.mean]

/** Evaluates every model and the per-series choice on one daily series; null when it is too short for `origins`. */
export function evaluateSeries(y: readonly number[], opts: EvaluationOptions): SeriesEvaluation | null {
  const first = y.length - opts.horizon - opts.origins + 1
  if (first < 1) return null
  const scale = maseScale(y.slice(0, first))
  const errors: Record<string, SeriesErrors> = {}
  const failed = new Set<string>()
  const picks: ModelName[] = []
  const record = (name: string, f: readonly number[] | null, origin: number) => {
    if (failed.has(name)) return
    if (!f) {
      failed.add(name)
      delete errors[name]
      return
    }
    const e = (errors[name] ??= { abs: [], pct: [], scale })
    for (let k = 0; k < opts.horizon; k++) {
      const a = y[origin + k]!
      const err = Math.abs(a - f[k]!)
      e.abs.push(err)
      if (a > 0) e.pct.push(err / a)
    }
  }
  for (let origin = first; origin + opts.horizon <= y.length; origin++) {
    const history = y.slice(0, origin)
    for (const m of EVALUATED) record(m.name, history.length >= m.minLength ? m.forecast(history, opts.horizon) : null, origin)
    const chosen = forecastSeries(history, opts)
    picks.push(chosen.model)
    record('chosen', chosen.forecast, origin)
  }
  return { errors, picks }
}

export interface AccuracyRow {
  readonly forecaster: string
  readonly series: number
  /** Means over series of each series' MAE, MAPE (%) and MASE. */
  readonly mae: number
  readonly mape: number | null
  readonly mase: number | null
  /** Σ absolute error / Σ absolute error of seasonal-naive, over the series both forecast: below 1 beats it. */
  readonly relativeMae: number | null
}

/** Aggregates series evaluations into one row per forecaster ('chosen' last). */
export function accuracyTable(evaluations: readonly SeriesEvaluation[]): AccuracyRow[] {
  const names = [...EVALUATED.map((m) => m.name as string), 'chosen']
  const mean = (xs: number[]) => (xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null)
  const sum = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0)
  const rows: AccuracyRow[] = []
  for (const name of names) {
    const maes: number[] = []
    const mapes: number[] = []
    const mases: number[] = []
    let err = 0
    let base = 0
    let n = 0
    for (const ev of evaluations) {
      const e = ev.errors[name]
      if (!e) continue
      n++
      const mae = sum(e.abs) / e.abs.length
      maes.push(mae)
      if (e.pct.length) mapes.push((100 * sum(e.pct)) / e.pct.length)
      if (e.scale) mases.push(mae / e.scale)
      const b = ev.errors[ModelName.SEASONAL_NAIVE]
      if (b) {
        err += sum(e.abs)
        base += sum(b.abs)
      }
    }
    if (n === 0) continue
    rows.push({ forecaster: name, series: n, mae: mean(maes)!, mape: mean(mapes), mase: mean(mases), relativeMae: base > 0 ? err / base : null })
  }
  return rows
}

import { forecastSeries, maseScale, score, type BacktestOptions, type ModelScore } from './backtest.js'
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

export interface SeriesEvaluation {
  /** By model name, plus 'chosen' for the per-series choice; a model that failed an origin is absent. */
  readonly scores: Readonly<Record<string, ModelScore & { readonly points: number }>>
  /** What the choice picked at each origin. */
  readonly picks: readonly ModelName[]
}

const EVALUATED: readonly ForecastModel[] = [MODELS.seasonal_naive, MODELS.holt_winters, MODELS.sarima_weekly, MODELS.arima_111, MODELS.croston, MODELS.mean]

/** Evaluates every model and the per-series choice on one daily series; null when it is too short for `origins`. */
export function evaluateSeries(y: readonly number[], opts: EvaluationOptions): SeriesEvaluation | null {
  const first = y.length - opts.horizon - opts.origins + 1
  if (first < 1) return null
  const forecasts = new Map<string, { actual: number[]; predicted: number[] }>()
  const failed = new Set<string>()
  const picks: ModelName[] = []
  const record = (name: string, f: readonly number[] | null, origin: number) => {
    if (!f) {
      failed.add(name)
      forecasts.delete(name)
      return
    }
    let e = forecasts.get(name)
    if (!e) forecasts.set(name, (e = { actual: [], predicted: [] }))
    for (let k = 0; k < opts.horizon; k++) {
      e.actual.push(y[origin + k]!)
      e.predicted.push(f[k]!)
    }
  }
  for (let origin = first; origin + opts.horizon <= y.length; origin++) {
    const history = y.slice(0, origin)
    for (const m of EVALUATED) {
      // A model that failed one origin is out: no use fitting it on the others.
      if (!failed.has(m.name)) record(m.name, history.length >= m.minLength ? m.forecast(history, opts.horizon) : null, origin)
    }
    const chosen = forecastSeries(history, opts)
    picks.push(chosen.model)
    record('chosen', chosen.forecast, origin)
  }
  const scale = maseScale(y.slice(0, first))
  const scores: Record<string, ModelScore & { points: number }> = {}
  for (const [name, e] of forecasts) scores[name] = { ...score(name as ModelName, e.actual, e.predicted, scale), points: e.actual.length }
  return { scores, picks }
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
  const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null)
  const rows: AccuracyRow[] = []
  for (const name of [...EVALUATED.map((m) => m.name as string), 'chosen']) {
    const mine = evaluations.flatMap((ev) => (ev.scores[name] ? [{ s: ev.scores[name], base: ev.scores[ModelName.SEASONAL_NAIVE] }] : []))
    if (mine.length === 0) continue
    // Total absolute errors (MAE × points), over the series seasonal-naive forecast too.
    const paired = mine.filter((m) => m.base)
    const err = paired.reduce((n, m) => n + m.s.mae * m.s.points, 0)
    const base = paired.reduce((n, m) => n + m.base!.mae * m.base!.points, 0)
    rows.push({
      forecaster: name,
      series: mine.length,
      mae: mean(mine.map((m) => m.s.mae))!,
      mape: mean(mine.flatMap((m) => (m.s.mape === null ? [] : [m.s.mape]))),
      mase: mean(mine.flatMap((m) => (m.s.mase === null ? [] : [m.s.mase]))),
      relativeMae: base > 0 ? err / base : null,
    })
  }
  return rows
}

import { forecastSeries, maseScale, pooledChoice, score, withModel, type BacktestOptions, type ModelScore, type SeriesForecast } from './backtest.js'
import { MODELS, ModelName, type ForecastModel } from './models.js'

/*
 * Out-of-sample accuracy of the forecasting, for `streamcube backtest`. The last `origins` days
 * before the end of each series are evaluation origins; from each, every model forecasts the next
 * `horizon` days from the history before it, and so does the job's choice: the run's model picked
 * from every series' rolling backtest on the histories before that origin (pooledChoice), and, for
 * comparison, each series' own backtest winner. Scoring the choices on days they never saw is what
 * keeps their figures honest: an inner backtest score is optimistic, since the model was picked on
 * those very days.
 */

export interface EvaluationOptions extends BacktestOptions {
  /** Evaluation origins, one day apart, the last ending with the series. */
  readonly origins: number
}

export interface SeriesEvaluation {
  /** By model name, plus 'chosen' (the run's model) and 'per_series' (each series' own winner); a model that failed an origin is absent. */
  readonly scores: Readonly<Record<string, ModelScore & { readonly points: number }>>
  /** What the run's choice picked at each origin. */
  readonly picks: readonly ModelName[]
}

const EVALUATED: readonly ForecastModel[] = [MODELS.seasonal_naive, MODELS.holt_winters, MODELS.sarima_weekly, MODELS.arima_111, MODELS.croston, MODELS.mean]

/** Evaluates every model and both choices on daily series (one run's); series too short for `origins` are left out. */
export function evaluateSeries(histories: readonly (readonly number[])[], opts: EvaluationOptions): SeriesEvaluation[] {
  const series = histories.filter((y) => y.length - opts.horizon - opts.origins + 1 >= 1)
  // All series end on the same day: origin i is the same date for each.
  const state = series.map((y) => ({ y, first: y.length - opts.horizon - opts.origins + 1, forecasts: new Map<string, { actual: number[]; predicted: number[] }>(), failed: new Set<string>(), picks: [] as ModelName[] }))
  /** Adds a forecaster's forecast from an origin to a series' record; a forecaster that failed an origin is out. */
  const record = (s: (typeof state)[number], origin: number, name: string, f: readonly number[] | null) => {
    if (!f) {
      s.failed.add(name)
      s.forecasts.delete(name)
      return
    }
    if (s.failed.has(name)) return
    let e = s.forecasts.get(name)
    if (!e) s.forecasts.set(name, (e = { actual: [], predicted: [] }))
    for (let k = 0; k < opts.horizon; k++) {
      e.actual.push(s.y[origin + k]!)
      e.predicted.push(f[k]!)
    }
  }
  for (let i = 0; i < opts.origins; i++) {
    const inner: SeriesForecast[] = []
    for (const s of state) {
      const origin = s.first + i
      const history = s.y.slice(0, origin)
      // A model that failed one origin is out: no use fitting it on the others.
      for (const m of EVALUATED) if (!s.failed.has(m.name)) record(s, origin, m.name, history.length >= m.minLength ? m.forecast(history, opts.horizon) : null)
      const own = forecastSeries(history, opts)
      inner.push(own)
      record(s, origin, 'per_series', own.forecast)
    }
    const model = pooledChoice(inner)
    state.forEach((s, j) => {
      const chosen = withModel(inner[j]!, model)
      s.picks.push(chosen.model)
      record(s, s.first + i, 'chosen', chosen.forecast)
    })
  }
  return state.map((s) => {
    const scale = maseScale(s.y.slice(0, s.first))
    const scores: Record<string, ModelScore & { points: number }> = {}
    for (const [name, e] of s.forecasts) scores[name] = { ...score(name as ModelName, e.actual, e.predicted, scale), points: e.actual.length }
    return { scores, picks: s.picks }
  })
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
  for (const name of [...EVALUATED.map((m) => m.name as string), 'per_series', 'chosen']) {
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

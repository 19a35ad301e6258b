import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { croston, forecastSeries, holtWinters, MODELS, pooledChoice, sane, suggestedQuantity, usableStock, withModel } from '../../../jobs/index.js'
import { ARIMA_111, fitExactArima, SARIMA_100_011_7 } from '../../../jobs/restock/arma.js'
import { Random } from '../../../generator/index.js'

const reference = JSON.parse(readFileSync(new URL('./fixtures/statsmodels-arima.json', import.meta.url), 'utf8')) as {
  series: Record<string, { y: number[]; forecast: number[] }>
}

/** Daily Poisson counts with a seeded generator, so the planted series are the same every run. */
function poissonSeries(seed: number, lambda: (day: number) => number, days: number): number[] {
  const random = new Random(seed)
  return Array.from({ length: days }, (_, d) => random.poisson(lambda(d)))
}

const WEEK = [16, 7, 7, 8, 9, 12, 18]

interface Reference {
  params: number[]
  llf: number
  forecast: number[]
  best: { params: number[]; llf: number; forecast: number[] }
}
const restockReference = JSON.parse(readFileSync(new URL('./fixtures/statsmodels-restock.json', import.meta.url), 'utf8')) as {
  series: { name: string; y: number[]; arima_111: Reference; sarima_weekly?: Reference }[]
}
/** The largest relative difference of two forecasts over their horizon. */
const gap = (a: readonly number[], b: readonly number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!) / Math.abs(b[i]!)))

describe('ARIMA(1,1,1) and the weekly SARIMA against statsmodels', () => {
  it('forecasts the Nile series within 1 % of statsmodels at every step of 10, and realcons (where the arima package diverged) too', () => {
    for (const name of ['nile', 'realcons']) {
      const { y, forecast } = reference.series[name]!
      const ours = MODELS.arima_111.forecast(y, 10)!
      expect(ours).toHaveLength(10)
      ours.forEach((v, i) => expect(Math.abs(v - forecast[i]!) / forecast[i]!, `${name} step ${i + 1}: ${v} vs ${forecast[i]}`).toBeLessThan(0.01))
    }
  })

  it('ARIMA(1,1,1): within 1 % of statsmodels\' 3-day forecast on ≥ 95 % of 40 restock-like series and Nile; every other one is a local maximum of statsmodels\', which ours beats in statsmodels\' own likelihood', () => {
    const misses: string[] = []
    for (const s of restockReference.series) {
      const fit = fitExactArima(s.y, 3, ARIMA_111)!
      const ref = s.arima_111
      // statsmodels from a grid of starts: its best maximum is ours, on every series.
      expect(gap(fit.forecast, ref.best.forecast), `${s.name} against statsmodels' best start`).toBeLessThan(0.01)
      expect(Math.abs(fit.logLikelihood - ref.best.llf), s.name).toBeLessThan(0.05)
      if (gap(fit.forecast, ref.forecast) > 0.01) {
        misses.push(s.name)
        // Its default start stopped lower: the same model reaches a higher likelihood elsewhere.
        expect(ref.best.llf - ref.llf, s.name).toBeGreaterThan(1)
      }
    }
    expect(restockReference.series).toHaveLength(41)
    expect(misses.length / restockReference.series.length, `off by more than 1 %: ${misses.join(', ')}`).toBeLessThanOrEqual(0.05)
  })

  it('SARIMA(1,0,0)(0,1,1)₇: within 1 % of statsmodels\' SARIMAX 3-day forecast on every restock-like series', () => {
    const series = restockReference.series.filter((s) => s.sarima_weekly)
    expect(series).toHaveLength(40)
    for (const s of series) {
      const fit = fitExactArima(s.y, 3, SARIMA_100_011_7)!
      expect(gap(fit.forecast, s.sarima_weekly!.forecast), s.name).toBeLessThan(0.01)
      expect(MODELS.sarima_weekly.forecast(s.y, 3)).toEqual(fit.forecast.map((v) => Math.max(0, v)))
    }
  })

  it('a forecast out of reach of the history is refused (sane), and a flat differenced series has no fit', () => {
    expect(sane([1.6e4, 6.9e5], [9000, 9100, 9200])).toBeNull()
    expect(sane([-1, 5], [3, 4, 5])).toEqual([0, 5])
    expect(fitExactArima([5, 6, 7, 8, 9, 10, 11, 12], 3, ARIMA_111)).toBeNull()
  })
})

describe('forecasting models', () => {
  it('seasonal-naive repeats the last week', () => {
    expect(MODELS.seasonal_naive.forecast([...WEEK, ...WEEK.map((v) => v + 1)], 9)).toEqual([17, 8, 8, 9, 10, 13, 19, 17, 8])
    expect(MODELS.seasonal_naive.forecast([1, 2, 3], 3)).toBeNull()
  })

  it('Holt-Winters reproduces an exact weekly pattern and follows a trend', () => {
    const y = Array.from({ length: 56 }, (_, d) => WEEK[d % 7]!)
    holtWinters(y, 7)!.forEach((v, i) => expect(v).toBeCloseTo(WEEK[(56 + i) % 7]!, 6))
    const trend = Array.from({ length: 56 }, (_, d) => WEEK[d % 7]! + 0.5 * d)
    const f = holtWinters(trend, 3)!
    // Damped, so a little below the straight line, but well above the last week's values.
    f.forEach((v, i) => {
      expect(v).toBeGreaterThan(trend[49 + i]! + 1)
      expect(v).toBeLessThan(WEEK[(56 + i) % 7]! + 0.5 * (56 + i) + 0.5)
    })
  })

  it('Croston (SBA) forecasts the smoothed size over the smoothed interval', () => {
    // Sales of 6 every third day: size 6, interval 3, rate (1 - 0.05) × 2.
    const y = Array.from({ length: 30 }, (_, d) => (d % 3 === 2 ? 6 : 0))
    croston(y, 2)!.forEach((v) => expect(v).toBeCloseTo(0.95 * 2, 9))
    expect(croston([0, 0, 0], 2)).toEqual([0, 0])
  })

  it('a forecast is clipped at 0 and refused when it is not finite or out of reach', () => {
    expect(sane([-1, 2], [1, 2])).toEqual([0, 2])
    expect(sane([Number.NaN], [1])).toBeNull()
    expect(sane([1_000], [5, 6])).toBeNull()
  })
})

describe('per-series choice by rolling backtest', () => {
  it('falls back for an all-zero or a short history', () => {
    expect(forecastSeries([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], { horizon: 3, folds: 7 })).toMatchObject({ model: 'zero', forecast: [0, 0, 0], fallback: 'all_zero' })
    expect(forecastSeries([3, 5, 4], { horizon: 3, folds: 7 })).toMatchObject({ model: 'mean', forecast: [4, 4, 4], fallback: 'short_history' })
    expect(forecastSeries([], { horizon: 2, folds: 1 })).toMatchObject({ model: 'zero', forecast: [0, 0] })
  })

  it('the run\'s choice pools every series\' backtest: the candidate with the lowest mean MASE, used where a series could fit it', () => {
    const weekly = Array.from({ length: 20 }, (_, i) => poissonSeries(i * 104_729 + 3, (d) => WEEK[d % 7]! * 0.6, 56))
    const results = weekly.map((y) => forecastSeries(y, { horizon: 3, folds: 14 }))
    const model = pooledChoice(results)!
    const mean = (m: string) => results.reduce((s, r) => s + r.scores.find((x) => x.model === m)!.mase!, 0) / results.length
    for (const other of ['seasonal_naive', 'holt_winters', 'sarima_weekly', 'arima_111']) expect(mean(model)).toBeLessThanOrEqual(mean(other))
    expect(['holt_winters', 'sarima_weekly']).toContain(model)
    // Each series is forecast by the run's model (its own refit), whatever its own backtest picked.
    for (const r of results) expect(withModel(r, model)).toEqual(r.ranked.find((x) => x.model === model))
    // A fallback series keeps its own forecast; nothing scored widely enough: no run model.
    const zero = forecastSeries([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], { horizon: 3, folds: 7 })
    expect(withModel(zero, model)).toEqual({ model: 'zero', forecast: [0, 0, 0] })
    expect(pooledChoice([zero])).toBeNull()
    // A series whose own winner's backtest error is under half the run model's keeps its own.
    const own = { model: 'seasonal_naive' as const, forecast: [5, 5, 5], fallback: null, ranked: [{ model: 'seasonal_naive' as const, forecast: [5, 5, 5] }, { model: 'holt_winters' as const, forecast: [7, 7, 7] }] }
    const scored = (a: number, b: number) => ({ ...own, scores: [{ model: 'seasonal_naive' as const, mae: a, mape: null, mase: null }, { model: 'holt_winters' as const, mae: b, mape: null, mase: null }] })
    expect(withModel(scored(0.4, 1), 'holt_winters').model).toBe('seasonal_naive')
    expect(withModel(scored(0.6, 1), 'holt_winters').model).toBe('holt_winters')
  })

  it('picks a weekly model on planted weekly demand, with MASE below 1 and below seasonal-naive\'s', () => {
    let chosen = 0
    let baseline = 0
    const picked: Record<string, number> = {}
    for (let seed = 1; seed <= 20; seed++) {
      const y = poissonSeries(seed * 7919, (d) => WEEK[d % 7]! * 0.6, 56)
      const f = forecastSeries(y, { horizon: 3, folds: 14 })
      expect(f.fallback).toBeNull()
      expect(f.scores[0]!.model).toBe(f.model)
      picked[f.model] = (picked[f.model] ?? 0) + 1
      chosen += f.scores[0]!.mase!
      baseline += f.scores.find((s) => s.model === 'seasonal_naive')!.mase!
    }
    expect(chosen / 20).toBeLessThan(1)
    expect(chosen).toBeLessThan(baseline)
    expect((picked.holt_winters ?? 0) + (picked.sarima_weekly ?? 0)).toBeGreaterThan(10)
  })

  it('backtests a short history on fewer folds: two weeks still get a choice, not the mean', () => {
    const y = poissonSeries(7, (d) => WEEK[d % 7]!, 14)
    const f = forecastSeries(y, { horizon: 3, folds: 14 })
    expect(f.fallback).toBeNull()
    expect(f.scores.map((s) => s.model)).toContain('seasonal_naive')
    expect(forecastSeries(y.slice(0, 9), { horizon: 3, folds: 14 })).toMatchObject({ model: 'mean', fallback: 'short_history' })
  })

  it('adds Croston for intermittent demand', () => {
    const y = poissonSeries(42, () => 0.3, 56)
    expect(y.filter((v) => v === 0).length / y.length).toBeGreaterThan(0.5)
    expect(forecastSeries(y, { horizon: 3, folds: 14 }).scores.map((s) => s.model)).toContain('croston')
  })
})

describe('restock quantities', () => {
  const AT = Date.parse('2026-12-01T00:00:00Z')

  it('usable stock loses what expires within the horizon before demand takes it (FIFO); shortfalls are owed', () => {
    // 10 a day over 3 days: A (30, expires end of 12-02: 2 days → 20 sell, 10 lost); B (50, 12-31) and C (no date) stay in date.
    const batches = [
      { batch_id: 'B', on_hand: 50, expires: '2026-12-31' },
      { batch_id: 'A', on_hand: 30, expires: '2026-12-02' },
      { batch_id: 'C', on_hand: 5, expires: '' },
      { batch_id: '', on_hand: -4, expires: '' },
    ]
    const end = AT + 3 * 86_400_000
    expect(usableStock(batches, 10, AT, end)).toEqual({ onHand: 81, usable: 20 + 50 + 5 - 4, unusable: 10 })
    // At no demand all of A is lost; B and C are still stock at the end of the horizon.
    expect(usableStock(batches, 0, AT, end)).toEqual({ onHand: 81, usable: 50 + 5 - 4, unusable: 30 })
    // A one-day horizon ends before A expires: nothing is lost yet.
    expect(usableStock(batches, 10, AT, AT + 86_400_000)).toEqual({ onHand: 81, usable: 81, unusable: 0 })
  })

  it('suggests max(ceil(forecast × safety), min stock) − usable, never below 0', () => {
    expect(suggestedQuantity(10, 1.2, 0, 0)).toBe(12) // 10 × 1.2 = 12.000000000000002 in floating point
    expect(suggestedQuantity(10.1, 1.2, 0, 5)).toBe(8) // ceil(12.12) − 5
    expect(suggestedQuantity(2, 1.2, 20, 5)).toBe(15)
    expect(suggestedQuantity(10, 1.2, 0, 50)).toBe(0)
    expect(suggestedQuantity(10, 1.2, 0, -4)).toBe(16)
  })
})

import { EventGenerator } from './generator.js'
import { runGeneratorSource, type GeneratorSourceOptions } from './source.js'

const WEEK = 7 * 86_400_000

/** The hours [from, to) taken `k` weeks back: baseline week k's window. */
export function baselineWeek(k: number, from: number, to: number): readonly [from: number, to: number] {
  return [from - k * WEEK, to - k * WEEK]
}

export interface BaselineWeeks {
  readonly seed: number
  /** The generator's run name (GeneratorOptions.run). */
  readonly run?: string
  /** The hours [from, to) of today (UTC ms), taken `weeks` weeks back. */
  readonly from: number
  readonly to: number
  readonly weeks: number
  /** Per week back, the last event time an earlier fill left there: that week goes on after it. */
  readonly filledUntil?: ReadonlyMap<number, number>
}

/**
 * The same hours [from, to) one, two, … weeks back, behaviour and orders only, oldest first so the
 * watermark only moves forward: what a dynamic alert baseline compares with (the demo runs it
 * before its backfill). Each week is its own city run (seed + weeks): same places, other people's
 * days. Inventory is left out: its batches would stay on hand in the stock reports. Returns the
 * number of records processed.
 */
export async function fillBaselineWeeks(o: Omit<GeneratorSourceOptions, 'generator' | 'until' | 'streams' | 'now' | 'onCaughtUp'> & BaselineWeeks): Promise<number> {
  let total = 0
  for (let k = o.weeks; k >= 1 && !o.signal.aborted; k--) {
    const { seed, run, from, to, weeks: _weeks, filledUntil, ...source } = o
    const [weekFrom, weekTo] = baselineWeek(k, from, to)
    const start = Math.max(weekFrom, (filledUntil?.get(k) ?? Number.NEGATIVE_INFINITY) + 1)
    if (start >= weekTo) continue
    total += await runGeneratorSource({
      ...source,
      generator: new EventGenerator({ seed: seed + k, run, start }),
      streams: ['behaviour', 'order'],
      until: weekTo,
      now: () => weekTo,
      intervalMs: 1,
    })
  }
  return total
}

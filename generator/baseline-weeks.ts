import { EventGenerator } from './generator.js'
import { runGeneratorSource, type GeneratorSourceOptions } from './source.js'

const WEEK = 7 * 86_400_000

/**
 * The same hours [from, to) one, two, … weeks back, behaviour and orders only, oldest first so the
 * watermark only moves forward: what a dynamic alert baseline compares with (the demo runs it
 * before its backfill). Each week is its own city run (seed + weeks): same places, other people's
 * days. Inventory is left out: its batches would stay on hand in the stock reports. Returns the
 * number of records processed.
 */
export async function fillBaselineWeeks(o: Omit<GeneratorSourceOptions, 'generator' | 'until' | 'streams' | 'now' | 'onCaughtUp'> & { seed: number; from: number; to: number; weeks: number }): Promise<number> {
  let total = 0
  for (let k = o.weeks; k >= 1 && !o.signal.aborted; k--) {
    const { seed, from, to, weeks: _weeks, ...source } = o
    total += await runGeneratorSource({
      ...source,
      generator: new EventGenerator({ seed: seed + k, start: from - k * WEEK }),
      streams: ['behaviour', 'order'],
      until: to - k * WEEK,
      now: () => to - k * WEEK,
      intervalMs: 1,
    })
  }
  return total
}

import type { Logger } from 'pino'
import type { ClickHouse } from '../sinks/index.js'
import { EventGenerator } from './generator.js'
import { selectPipelines } from '../pipelines/index.js'
import { runGeneratorSource } from './source.js'

/*
 * Demand with a known weekly pattern and trend, generated into the cubes through the real
 * pipelines: the data on which `streamcube backtest --generate` and the restock tests check that
 * the forecast recovers what was planted.
 */

const DAY = 86_400_000

/** Sunday first: busy weekends, a quiet start of the week. */
export const PLANTED_WEEKLY: readonly number[] = Object.freeze([1.6, 0.7, 0.7, 0.8, 0.9, 1.2, 1.8])

export interface PlantedDemand {
  /** Days of data, ending at `end`. */
  readonly days: number
  /** Exclusive end (UTC ms). */
  readonly end: number
  readonly seed?: number
  readonly weekly?: readonly number[]
  readonly growthPerDay?: number
  /** Pipelines to run (default the restock job's sources: inventory and products). */
  readonly pipelines?: readonly string[]
}

/**
 * Generates `days` of a small city (3 communities, 20 skus) with the planted demand, through the
 * real pipelines into `ch`; returns the event count.
 */
export async function fillPlantedDemand(ch: ClickHouse, planted: PlantedDemand, log: Logger): Promise<number> {
  const start = planted.end - planted.days * DAY
  const generator = new EventGenerator({
    seed: planted.seed ?? 5,
    start,
    communities: 3,
    skus: 20,
    sessionsPerMinute: 3,
    demand: { weekly: planted.weekly ?? PLANTED_WEEKLY, growthPerDay: planted.growthPerDay ?? 0, days: planted.days },
  })
  return runGeneratorSource({
    generator,
    pipelines: selectPipelines(planted.pipelines ?? ['inventory', 'products']),
    ch,
    log,
    signal: new AbortController().signal,
    intervalMs: 1,
    now: () => planted.end,
    until: planted.end,
  })
}

/*
 * Time ranges over the cubes, shared by the API's reports and the alert metrics: the grains, the
 * coarsest grain that answers a range exactly, and the range predicate on window_start.
 */

import { GRAINS, type Grain } from '../pipelines/index.js'

export { GRAINS, type Grain }

/**
 * The coarsest cube grain that answers [from, to) exactly at `coarsest` or finer: both ends must fall
 * on its bucket boundaries (UTC), or a coarser bucket would reach outside the range. A day range
 * from midnight UTC reads the day rollup; a range from 10:30 reads the minute cube.
 */
export function grainFor(from: number, to: number, coarsest: Grain = 'day'): (typeof GRAINS)[number] {
  let chosen: (typeof GRAINS)[number] = GRAINS[0]
  for (const g of GRAINS) {
    if (from % g.ms === 0 && to % g.ms === 0) chosen = g
    if (g.name === coarsest) break
  }
  return chosen
}

/**
 * A range end as the whole seconds the cubes' `window_start` (DateTime, seconds) compares with:
 * `window_start >= from` and `window_start < to` hold for exactly the same buckets when a
 * millisecond end is rounded up, so a range may end at any instant.
 */
export const bound = (ms: number): number => Math.ceil(ms / 1000)

/** Buckets whose start lies in [from, to) (parameters from and to: bound() seconds). */
export const RANGE = "window_start >= toDateTime({from:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC')"

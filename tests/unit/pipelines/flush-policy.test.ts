import { describe, expect, it } from 'vitest'
import { flushIntervalFor, flushPolicyFor, overBudget, timedFlushDue, type FlushPolicy } from '../../../pipelines/index.js'
import { loadConfig } from '../../../schemas/index.js'

const policy: FlushPolicy = { intervalMs: 1_000, catchUpIntervalMs: 10_000, catchUpLag: 5_000, maxRecords: 50_000, bufferMaxRecords: 100 }

describe('the flush policy', () => {
  it('flushes a caught-up partition at the interval and one that is behind at the catch-up interval', () => {
    expect(flushIntervalFor(0, policy)).toBe(1_000)
    expect(flushIntervalFor(4_999, policy)).toBe(1_000)
    expect(flushIntervalFor(5_000, policy)).toBe(10_000)
    expect(timedFlushDue({ pending: 10, lag: 0, lastFlush: 0 }, 1_000, policy)).toBe(true)
    expect(timedFlushDue({ pending: 10, lag: 6_000, lastFlush: 0 }, 1_000, policy)).toBe(false)
    expect(timedFlushDue({ pending: 10, lag: 6_000, lastFlush: 0 }, 10_000, policy)).toBe(true)
  })

  it('never waits on an empty partition, and never uses a catch-up interval shorter than the interval', () => {
    expect(timedFlushDue({ pending: 0, lag: 0, lastFlush: 0 }, 60_000, policy)).toBe(false)
    expect(flushIntervalFor(10_000, { ...policy, catchUpIntervalMs: 100 })).toBe(1_000)
  })

  it('over the worker-wide budget, flushes the fullest partitions until the rest fits', () => {
    const parts = [
      { id: 'a', pending: 30, lag: 0, lastFlush: 0 },
      { id: 'b', pending: 60, lag: 0, lastFlush: 0 },
      { id: 'c', pending: 0, lag: 0, lastFlush: 0 },
      { id: 'd', pending: 40, lag: 0, lastFlush: 0 },
    ]
    expect(overBudget(parts, policy).map((p) => p.id)).toEqual(['b'])
    expect(overBudget(parts, { ...policy, bufferMaxRecords: 20 }).map((p) => p.id)).toEqual(['b', 'd', 'a'])
    expect(overBudget(parts, { ...policy, bufferMaxRecords: 130 })).toEqual([])
  })

  it('defaults: catch-up flushes are rarer than live ones, and the budget holds several partitions\' flushes', () => {
    // The defaults are the configuration's (one source): a worker built from an empty environment.
    const DEFAULT_FLUSH_POLICY = flushPolicyFor(loadConfig({}))
    expect(DEFAULT_FLUSH_POLICY.catchUpIntervalMs).toBeGreaterThan(DEFAULT_FLUSH_POLICY.intervalMs)
    expect(DEFAULT_FLUSH_POLICY.bufferMaxRecords).toBeGreaterThan(DEFAULT_FLUSH_POLICY.maxRecords)
  })
})

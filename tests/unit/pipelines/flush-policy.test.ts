import { describe, expect, it } from 'vitest'
import { budgetFlushGroups, flushIntervalFor, flushPolicyFor, overBudget, timedFlushDue, timedFlushGroups, type FlushPolicy } from '../../../engine/index.js'
import { loadConfig } from '../../../schemas/index.js'

const policy: FlushPolicy = { intervalMs: 1_000, catchUpIntervalMs: 10_000, catchUpLag: 5_000, maxRecords: 50_000, bufferMaxRecords: 100, bufferMaxBytes: 1_000_000, groupMax: 3 }

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
      { id: 'a', pending: 30, pendingBytes: 300, lag: 0, lastFlush: 0 },
      { id: 'b', pending: 60, pendingBytes: 600, lag: 0, lastFlush: 0 },
      { id: 'c', pending: 0, pendingBytes: 0, lag: 0, lastFlush: 0 },
      { id: 'd', pending: 40, pendingBytes: 400, lag: 0, lastFlush: 0 },
    ]
    expect(overBudget(parts, policy).map((p) => p.id)).toEqual(['b'])
    expect(overBudget(parts, { ...policy, bufferMaxRecords: 20 }).map((p) => p.id)).toEqual(['b', 'd', 'a'])
    expect(overBudget(parts, { ...policy, bufferMaxRecords: 130 })).toEqual([])
  })

  it('over the byte budget, flushes the partitions holding the most bytes until the rest fits, whatever their record counts', () => {
    const parts = [
      { id: 'small-many', pending: 90, pendingBytes: 900, lag: 0, lastFlush: 0 },
      { id: 'large-few', pending: 10, pendingBytes: 5_000, lag: 0, lastFlush: 0 },
      { id: 'mid', pending: 20, pendingBytes: 2_000, lag: 0, lastFlush: 0 },
    ]
    const within = { bufferMaxRecords: 1_000 }
    expect(overBudget(parts, { ...within, bufferMaxBytes: 8_000 })).toEqual([])
    expect(overBudget(parts, { ...within, bufferMaxBytes: 7_000 }).map((p) => p.id)).toEqual(['large-few'])
    expect(overBudget(parts, { ...within, bufferMaxBytes: 500 }).map((p) => p.id)).toEqual(['large-few', 'mid', 'small-many'])
  })

  it('over the budget with group commits, flushes every partition holding records, in groups of at most groupMax (lagging or not)', () => {
    const parts = [
      { id: 'a', pending: 30, pendingBytes: 300, lag: 9_000, lastFlush: 0 },
      { id: 'b', pending: 60, pendingBytes: 600, lag: 0, lastFlush: 0 },
      { id: 'empty', pending: 0, pendingBytes: 0, lag: 0, lastFlush: 0 },
      { id: 'd', pending: 40, pendingBytes: 400, lag: 9_000, lastFlush: 0 },
      { id: 'e', pending: 1, pendingBytes: 10, lag: 0, lastFlush: 0 },
    ]
    const ids = (groups: { id: string }[][]) => groups.map((g) => g.map((p) => p.id))
    expect(budgetFlushGroups(parts, { ...policy, bufferMaxRecords: 131 })).toEqual([])
    expect(ids(budgetFlushGroups(parts, { ...policy, bufferMaxRecords: 130 }))).toEqual([['a', 'b', 'd'], ['e']])
    expect(ids(budgetFlushGroups(parts, { ...policy, bufferMaxBytes: 1_000, groupMax: 32 }))).toEqual([['a', 'b', 'd', 'e']])
    // groupMax 1: the fullest alone, until the rest fits (overBudget).
    expect(ids(budgetFlushGroups(parts, { ...policy, groupMax: 1 }))).toEqual([['b']])
  })

  it('groups timed flushes: once one is due, every caught-up partition with records joins, in groups of at most groupMax', () => {
    const now = 10_000
    const parts = [
      { id: 'due', pending: 5, lag: 0, lastFlush: 0 },
      { id: 'fresh', pending: 5, lag: 0, lastFlush: now - 10 },
      { id: 'empty', pending: 0, lag: 0, lastFlush: 0 },
      { id: 'behind', pending: 5, lag: 9_000, lastFlush: now - 2_000 },
      { id: 'behind-due', pending: 5, lag: 9_000, lastFlush: 0 },
      { id: 'fresh2', pending: 1, lag: 10, lastFlush: now - 10 },
      { id: 'fresh3', pending: 1, lag: 10, lastFlush: now - 10 },
    ]
    const ids = (groups: { id: string }[][]) => groups.map((g) => g.map((p) => p.id))
    expect(ids(timedFlushGroups(parts, now, policy))).toEqual([['due', 'behind-due', 'fresh'], ['fresh2', 'fresh3']])
    // Nothing due: nothing flushes, however many partitions hold records.
    expect(timedFlushGroups(parts.filter((p) => p.id.startsWith('fresh')), now, policy)).toEqual([])
    // groupMax 1: the due partitions, each alone (the per-partition flushes of before).
    expect(ids(timedFlushGroups(parts, now, { ...policy, groupMax: 1 }))).toEqual([['due'], ['behind-due']])
  })

  it('defaults: catch-up flushes are rarer than live ones, and the budget holds several partitions\' flushes', () => {
    // The defaults are the configuration's (one source): a worker built from an empty environment.
    const DEFAULT_FLUSH_POLICY = flushPolicyFor(loadConfig({}))
    expect(DEFAULT_FLUSH_POLICY.catchUpIntervalMs).toBeGreaterThan(DEFAULT_FLUSH_POLICY.intervalMs)
    expect(DEFAULT_FLUSH_POLICY.bufferMaxRecords).toBeGreaterThan(DEFAULT_FLUSH_POLICY.maxRecords)
  })
})

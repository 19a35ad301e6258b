import { describe, expect, it } from 'vitest'
import { Classification, PartitionState } from '../../../engine/index.js'

const policy = { outOfOrdernessMs: 1_000, allowedLatenessMs: 10_000, dedupHorizonMs: 10_000, maxRememberedIds: 1_000 }

describe('per-partition event time', () => {
  it('watermark = max event time − out-of-orderness, never moving back', () => {
    const s = new PartitionState(policy)
    s.classify('a', 100_000, '0')
    expect(s.watermark).toBe(99_000)
    s.classify('b', 50_000, '1')
    expect(s.watermark).toBe(99_000)
  })

  it('accepts late events within the allowed lateness, sends older ones to the late output', () => {
    const s = new PartitionState(policy)
    s.classify('a', 100_000, '0')
    expect(s.classify('b', 95_000, '1')).toBe(Classification.accept)
    expect(s.lateAccepted).toBe(1)
    expect(s.classify('c', 88_999, '2')).toBe(Classification.tooLate)
    expect(s.tooLate).toBe(1)
  })

  it('counts a repeated event id once within the horizon, and again after it', () => {
    const s = new PartitionState(policy)
    expect(s.classify('a', 100_000, '0')).toBe(Classification.accept)
    expect(s.classify('a', 100_000, '1')).toBe(Classification.duplicate)
    s.classify('z', 120_000, '2') // watermark 119 000: 'a' (100 000) is now older than the horizon
    expect(s.classify('a', 110_000, '3')).toBe(Classification.accept)
    expect(s.duplicates).toBe(1)
  })

  it('keeps memory bounded: ids older than the horizon are evicted, and a cap holds', () => {
    const s = new PartitionState({ ...policy, maxRememberedIds: 50 })
    for (let i = 0; i < 10_000; i++) s.classify(`e${i}`, 1_000_000 + i * 100, String(i))
    expect(s.remembered).toBeLessThanOrEqual(101)
    const capped = new PartitionState({ ...policy, maxRememberedIds: 50, dedupHorizonMs: 10_000_000, allowedLatenessMs: 10_000_000 })
    for (let i = 0; i < 1_000; i++) capped.classify(`e${i}`, 1_000_000 + i, String(i))
    expect(capped.remembered).toBe(50)
    expect(capped.evictedByCap).toBe(950)
  })

  it('a checkpoint and a replay from its horizon start rebuild exactly the same classification', () => {
    // An event id names one event: a duplicate repeats its time. Some repeats come within the
    // horizon, some long after it.
    const records: { id: string; time: number; offset: string }[] = []
    for (let i = 0; i < 2_000; i++) {
      const back = i % 7 === 3 ? 1 + ((i * 31) % 400) : 0
      const original = records[i - back]
      records.push(back && original ? { ...original, offset: String(i) } : { id: `e${i}`, time: 1_000_000 + i * 37 - (i % 13) * 400, offset: String(i) })
    }
    const full = new PartitionState(policy)
    const cut = 1_200
    for (const r of records.slice(0, cut)) full.classify(r.id, r.time, r.offset)
    const checkpoint = full.checkpoint()
    const expected = records.slice(cut).map((r) => full.classify(r.id, r.time, r.offset))

    const restored = new PartitionState(policy, checkpoint)
    for (const r of records.slice(Number(checkpoint.horizonStart), cut)) restored.rememberReplayed(r.id, r.time, r.offset)
    const replayed = records.slice(cut).map((r) => restored.classify(r.id, r.time, r.offset))
    expect(replayed).toEqual(expected)
    expect(expected).toContain(Classification.duplicate)
    expect(expected).toContain(Classification.accept)
  })
})

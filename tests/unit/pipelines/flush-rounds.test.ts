import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { EngineMetrics } from '../../../engine/metrics.js'
import { PartitionTable, type PartitionEntry } from '../../../engine/partitions.js'
import type { FlushExecutor } from '../../../engine/flush.js'
import type { FlushPlan, PartitionProcessor } from '../../../engine/processor.js'
import type { PartitionRecovery } from '../../../engine/recovery.js'
import type { FlushPolicy } from '../../../engine/flush-policy.js'
import { SinkError, SinkErrorCode } from '../../../sinks/errors.js'

const policy: FlushPolicy = { intervalMs: 0, catchUpIntervalMs: 0, catchUpLag: 1_000_000, maxRecords: 1_000_000, bufferMaxRecords: 1_000_000, bufferMaxBytes: 1 << 30, groupMax: 32 }

/** A promise resolved from outside: an insert that takes as long as the test says. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void
  let reject!: (err: Error) => void
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

/** A processor that always holds records, and hands out a plan naming its partition at each flush. */
function entry(partition: number): PartitionEntry {
  const proc = {
    pendingRecords: 10,
    pendingBytes: 100,
    mayFlush: true,
    pendingComplete: false,
    takeFlush: (): FlushPlan => ({ topic: 't', partition, first: String(partition * 100), last: String(partition * 100 + 9), before: { watermark: null, horizonStart: null }, after: { watermark: null, horizonStart: null } }) as unknown as FlushPlan,
  } as unknown as PartitionProcessor
  return { key: `t:${partition}`, proc, lastFlush: 0, lastRecordAt: 0, lag: 0, next: null, inflight: null, dead: false }
}

/** A table over fake partitions whose every flush (alone or in a group) waits on a deferred insert. */
function table(flush: FlushPolicy = policy) {
  const calls: { partitions: number[]; done: () => void; fail: (err: Error) => void }[] = []
  const run = (plans: readonly FlushPlan[]) => {
    const d = deferred()
    calls.push({ partitions: plans.map((p) => p.partition).sort(), done: d.resolve, fail: d.reject })
    return d.promise
  }
  const executor = { execute: (plan: FlushPlan) => run([plan]), executeGroup: (plans: readonly FlushPlan[]) => run(plans) } as unknown as FlushExecutor
  const readAgain: string[] = []
  const fatal: Error[] = []
  const partitions = new PartitionTable({
    executor,
    recovery: {} as PartitionRecovery,
    flush,
    overlapFlushes: true,
    setId: 'set',
    commit: () => Promise.resolve(),
    log: pino({ level: 'silent' }),
    metrics: new EngineMetrics(),
    fatal: (err) => fatal.push(err),
    readAgain: (topic, partition, offset) => {
      readAgain.push(`${topic}/${partition}@${offset}`)
      return Promise.resolve()
    },
  })
  return { partitions, calls, readAgain, fatal }
}

const settle = () => new Promise((r) => setImmediate(r))

describe('timed flushes in rounds', () => {
  it('starts no round while the last one is inserting, then flushes every due partition together', async () => {
    const { partitions, calls } = table()
    const [a, b, c] = [entry(0), entry(1), entry(2)]
    for (const e of [a, b, c]) partitions.set(e)
    // Partition 0 is already inserting on its own (a size flush): the round goes without it.
    await partitions.flushTaken(a)
    await partitions.flushDue()
    expect(calls.map((x) => x.partitions)).toEqual([[0], [1, 2]])
    // Partition 0's insert ends first. Its flush would be due again at once (interval 0), but the
    // round of 1 and 2 is still inserting: nothing starts, so 0 does not drift into a round alone.
    calls[0]!.done()
    await settle()
    await partitions.flushDue()
    expect(calls).toHaveLength(2)
    // The round commits: the next tick flushes all three in one group (one insert per table).
    calls[1]!.done()
    await settle()
    await partitions.flushDue()
    expect(calls.map((x) => x.partitions)).toEqual([[0], [1, 2], [0, 1, 2]])
  })

  it('a failed round ends the round too: its partitions are dropped for replay, and the others flush at the next tick', async () => {
    const { partitions, calls } = table()
    const [a, b] = [entry(0), entry(1)]
    for (const e of [a, b]) partitions.set(e)
    await partitions.flushDue()
    expect(calls.map((x) => x.partitions)).toEqual([[0, 1]])
    partitions.set(entry(2)) // a partition assigned while the round inserts
    calls[0]!.fail(new Error('the commit was refused'))
    await settle()
    expect([a.dead, b.dead]).toEqual([true, true])
    await partitions.flushDue()
    expect(calls.map((x) => x.partitions)).toEqual([[0, 1], [2]])
  })
})

describe('budget flushes as groups', () => {
  it('over the budget, waits for the flushes in flight, then flushes every partition holding records in one group', async () => {
    // Three partitions of 10 records each against a budget of 25: over it.
    const { partitions, calls } = table({ ...policy, bufferMaxRecords: 25 })
    const [a, b, c] = [entry(0), entry(1), entry(2)]
    for (const e of [a, b, c]) partitions.set(e)
    await partitions.flushTaken(a) // partition 0 is inserting on its own (a size flush)
    let returned = false
    const after = partitions.afterRecords(b, 't', 1, 10, 0n).then(() => (returned = true))
    await settle()
    // The fetch loop is held (backpressure) until partition 0's insert has committed.
    expect([calls.length, returned]).toEqual([1, false])
    calls[0]!.done()
    await after
    expect(calls.map((x) => x.partitions)).toEqual([[0], [0, 1, 2]])
  })

  it('without group commits, the fullest partition flushes alone until the rest fits', async () => {
    // No timed flush is due (a long interval): only the budget flushes.
    const { partitions, calls } = table({ ...policy, intervalMs: Infinity, catchUpIntervalMs: Infinity, bufferMaxRecords: 25, groupMax: 1 })
    const parts = [entry(0), entry(1), entry(2)]
    for (const e of parts) partitions.set(e)
    await partitions.afterRecords(parts[1]!, 't', 1, 10, 0n)
    expect(calls).toHaveLength(1)
    expect(calls[0]!.partitions).toHaveLength(1)
  })
})

describe('a failed flush of partitions this member still holds', () => {
  it('reads each of them again from its range\'s first offset, so the next batch re-opens it (a last range gets no next batch otherwise)', async () => {
    const { partitions, calls, readAgain, fatal } = table()
    const [a, b] = [entry(1), entry(2)]
    for (const e of [a, b]) partitions.set(e)
    await partitions.flushDue()
    calls[0]!.fail(new Error('the offset log failed the commit'))
    await settle()
    expect([partitions.get(a.key), partitions.get(b.key)]).toEqual([undefined, undefined])
    expect(readAgain.sort()).toEqual(['t/1@100', 't/2@200'])
    expect(fatal).toEqual([])
  })

  it('leaves partitions a rebalance dropped first to the next join', async () => {
    const { partitions, calls, readAgain } = table()
    partitions.set(entry(1))
    await partitions.flushDue()
    partitions.dropAll()
    calls[0]!.fail(new Error('not committing: the group is rebalancing'))
    await settle()
    expect(readAgain).toEqual([])
  })

  it('stops the worker when the sink gave up, instead of reading again', async () => {
    const { partitions, calls, readAgain, fatal } = table()
    partitions.set(entry(1))
    await partitions.flushDue()
    calls[0]!.fail(new SinkError(SinkErrorCode.INSERT, 'insert failed after retries'))
    await settle()
    expect(readAgain).toEqual([])
    expect(fatal.map((e) => e.message)).toEqual(['insert failed after retries'])
  })
})

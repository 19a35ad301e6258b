import type { Logger } from 'pino'
import { SinkError } from '../sinks/index.js'
import { chunkByMetadata, memberOf } from './checkpoint.js'
import { EngineError, EngineErrorCode } from './errors.js'
import type { FlushExecutor, MemberCommit } from './flush.js'
import { budgetFlushGroups, groupsOf, timedFlushDue, timedFlushGroups, type FlushPolicy } from './flush-policy.js'
import type { EngineMetrics } from './metrics.js'
import type { FlushPlan, PartitionProcessor } from './processor.js'
import type { SourceRecord } from './source-record.js'
import type { CommittedOffset, OpenedPartition, PartitionRecovery } from './recovery.js'

/**
 * A partition's processor and its flush chain. At most one flush per partition is in flight: it
 * runs while the processor keeps taking records (so the engine decodes while ClickHouse inserts),
 * and the next flush of the partition starts only after it has committed — offsets are committed
 * in order, and a failed flush kills the entry before another range can be put on record.
 */
export interface PartitionEntry {
  readonly key: string
  readonly proc: PartitionProcessor
  lastFlush: number
  /** Wall-clock time of the last record taken (for idleness). */
  lastRecordAt: number
  /** Records behind the high watermark at the last batch (a partition far behind flushes less often). */
  lag: number
  /** With a fetcher: the next offset this entry takes (records below it are stale prefetches); null: from the beginning. */
  next: bigint | null
  inflight: Promise<boolean> | null
  /** Set when a flush failed or a rebalance dropped the entry: nothing more may be committed for it. */
  dead: boolean
}

export interface PartitionTableOptions {
  readonly executor: FlushExecutor
  readonly recovery: PartitionRecovery
  readonly flush: FlushPolicy
  /** false: each flush completes before the partition takes more records. */
  readonly overlapFlushes: boolean
  readonly setId: string
  /** Commits several partitions' offsets and metadata in one request, or throws (the offset log). */
  readonly commit: (commits: readonly MemberCommit[]) => Promise<void>
  readonly log: Logger
  readonly metrics: EngineMetrics
  readonly fatal: (err: Error) => void
  /**
   * A failed commit dropped a partition this member still holds: read it again from `offset` (the
   * range's first), so a batch re-opens it from the offset log (a failed last range got none).
   */
  readonly readAgain: (topic: string, partition: number, offset: string) => Promise<void>
}

/**
 * The transport-neutral core of a worker: the assigned partitions' processors, when they flush
 * (size, time, the worker's buffer budget, groups) and what a failed flush drops. The transports
 * (kafkajs-source.ts, rdkafka-source.ts) move records in; the flush protocol itself is
 * FlushExecutor's, the recovery of pending ranges PartitionRecovery's.
 *
 * Concurrency: every mutation of processor state (a batch, a timed flush, a rebalance, shutdown)
 * runs under one lock (`locked`), so a flush never interleaves with the processing of its own
 * partition.
 */
export class PartitionTable {
  private readonly entries = new Map<string, PartitionEntry>()
  /** Flushes still running for entries that a rebalance dropped; a new entry waits for them. */
  private readonly retiring = new Map<string, Promise<unknown>>()
  private lock: Promise<unknown> = Promise.resolve()
  private crashed = false
  /** The round of timed flushes in flight (flushDue): the next round starts once it has settled. */
  private round: Promise<unknown> | null = null

  constructor(private readonly options: PartitionTableOptions) {}

  get(key: string): PartitionEntry | undefined {
    return this.entries.get(key)
  }

  set(entry: PartitionEntry): void {
    this.entries.set(entry.key, entry)
  }

  locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn)
    this.lock = next.catch(() => undefined)
    return next
  }

  /** Drops every partition's state at once; their in-flight flushes can no longer commit. */
  dropAll(): void {
    for (const entry of this.entries.values()) {
      entry.dead = true
      if (entry.inflight) {
        const done = entry.inflight.finally(() => {
          if (this.retiring.get(entry.key) === done) this.retiring.delete(entry.key)
        })
        this.retiring.set(entry.key, done)
      }
    }
    this.entries.clear()
  }

  /** Abrupt failure (tests): drops everything, and no flush starts any more. */
  crash(): void {
    this.crashed = true
    this.dropAll()
  }

  /** Resolves when every flush of a dropped entry has settled (so committed offsets read are final). */
  async retired(): Promise<void> {
    await Promise.all(this.retiring.values())
  }

  /**
   * Opens the partition from the offset log (PartitionRecovery: checkpoint, pending range or
   * group), after any flush of its dropped previous entry has settled, so the committed offset
   * read is final. Null while the group is rebalancing.
   */
  async open(topic: string, partition: number, known?: Map<number, CommittedOffset>): Promise<(OpenedPartition & { entry: PartitionEntry }) | null> {
    this.options.log.trace({ topic, partition }, 'initialising partition state')
    await this.retiring.get(`${topic}:${partition}`)
    const opened = await this.options.recovery.open(topic, partition, known)
    if (!opened) return null
    const now = Date.now()
    const entry: PartitionEntry = { key: `${topic}:${partition}`, proc: opened.proc, lastFlush: now, lastRecordAt: now, lag: 0, next: opened.start, inflight: null, dead: false }
    return { ...opened, entry }
  }

  /**
   * Feeds one record to the partition: synchronous, no promise per record on the hot path. True
   * when a flush is due (size, or a replayed pending range's end): the transport then awaits
   * flushTaken().
   */
  take(entry: PartitionEntry, record: SourceRecord): boolean {
    const { proc } = entry
    proc.handle(record)
    return proc.pendingComplete || (proc.mayFlush && proc.pendingRecords >= this.options.flush.maxRecords)
  }

  /**
   * Starts the flush take() found due. It waits for the partition's previous flush (backpressure:
   * at most one range in flight and one buffering). False when a flush failed and killed the
   * entry: the transport stops feeding it.
   */
  flushTaken(entry: PartitionEntry): Promise<boolean> {
    return this.flush(entry, !this.options.overlapFlushes)
  }

  /** After a batch of a partition: idleness, lag, the timed flush and the worker's buffer budget. */
  async afterRecords(entry: PartitionEntry, topic: string, partition: number, taken: number, lag: bigint): Promise<void> {
    // Idleness is judged per batch: one clock read per batch, not per record.
    if (taken > 0) entry.lastRecordAt = Date.now()
    entry.lag = Math.max(0, Number(lag))
    this.options.metrics.lag.set({ topic, partition: String(partition) }, entry.lag)
    const serial = !this.options.overlapFlushes
    const { flush } = this.options
    // With group commits the timer's tick flushes due partitions together (flushDue).
    if (flush.groupMax <= 1 && !entry.dead && !entry.inflight && entry.proc.mayFlush && timedFlushDue(candidate(entry), Date.now(), flush)) await this.flush(entry, serial)
    // The worker-wide budget (budgetFlushGroups): each partition waits for its own previous flush
    // first, which is the backpressure on the fetch loop.
    for (const group of budgetFlushGroups(this.flushable(), flush)) await this.flushGroup(group.map((c) => c.entry), serial, true)
  }

  /**
   * The timer's tick: the partitions whose timed flush is due, in groups, one round at a time. A
   * round starts only once the previous one has committed, so the partitions that flush on time
   * stay in step, one insert per table a round. Without the wait, each partition became due again
   * when its own flush ended; their flushes drifted apart into rounds of one or two partitions, and
   * every table insert pays the engine a fixed price (every view of the stream table runs per
   * block: ≈ 10–120 ms of CPU up to 1,000 rows, bench/stream-inserts.ts): 19–27 flushes of the
   * issue's backlog instead of 10–14, ≈ 14 % of the worker's CPU (bench/README.md, issue 17).
   */
  async flushDue(): Promise<void> {
    if (this.round) return
    // Partitions with a flush in flight wait for the next round.
    const candidates = [...this.flushable()].filter((c) => !c.entry.inflight)
    const groups = timedFlushGroups(candidates, Date.now(), this.options.flush)
    if (groups.length === 0) return
    for (const group of groups) await this.flushGroup(group.map((c) => c.entry), !this.options.overlapFlushes)
    const round = Promise.all(groups.flat().map((c) => c.entry.inflight)).finally(() => {
      if (this.round === round) this.round = null
    })
    this.round = round
  }

  /**
   * A graceful stop's last flush: the flushes in flight commit first; then what every partition
   * buffered goes out in groups (one insert per table, as timed flushes do), a pending range that
   * was replayed alone.
   */
  async drain(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.inflight))
    const ready = [...this.entries.values()].filter((e) => !e.dead && e.proc.mayFlush && e.proc.pendingRecords > 0)
    for (const entry of ready) if (entry.proc.pendingComplete) await this.flush(entry)
    for (const group of groupsOf(ready.filter((e) => !e.proc.pendingComplete), this.options.flush)) await this.flushGroup(group, true)
    await Promise.all([...this.entries.values()].map((e) => e.inflight))
  }

  /** What the partitions hold in memory now. */
  stats(): { partitions: number; bufferedRecords: number; bufferedBytes: number; bufferedRows: number; rememberedIds: number } {
    const s = { partitions: this.entries.size, bufferedRecords: 0, bufferedBytes: 0, bufferedRows: 0, rememberedIds: 0 }
    for (const { proc } of this.entries.values()) {
      s.bufferedRecords += proc.pendingRecords
      s.bufferedBytes += proc.pendingBytes
      s.bufferedRows += proc.bufferedRows
      s.rememberedIds += proc.rememberedIds
    }
    return s
  }

  /** The live partitions timed and budget flushes may take (a replayed pending range flushes alone, as first planned: take()). */
  private *flushable() {
    for (const entry of this.entries.values()) if (!entry.dead && entry.proc.mayFlush && !entry.proc.pendingComplete) yield candidate(entry)
  }

  /**
   * Flushes what the partition buffered, after its previous flush has committed (false if that
   * one failed or the entry is dead). The flush runs as `entry.inflight`: with `wait` the call
   * resolves when it has committed; without, as soon as it has started, so the partition goes on
   * decoding its next range while ClickHouse inserts this one (one range in flight, one buffering).
   */
  private async flush(entry: PartitionEntry, wait = true): Promise<boolean> {
    if (entry.inflight && !(await entry.inflight)) return false
    if (this.crashed || entry.dead) return false
    const plan = entry.proc.takeFlush()
    entry.lastFlush = Date.now()
    if (!plan) return true
    return this.start([entry], [plan], wait)
  }

  /**
   * A flush of several partitions as one group (one insert per table), of entries without a
   * flush in flight (`afterInflight`: once theirs have settled). Plans are cut into groups whose
   * commit metadata stays under the broker's limit; a group of one is a plain flush.
   */
  private async flushGroup(entries: readonly PartitionEntry[], wait: boolean, afterInflight = false): Promise<void> {
    if (afterInflight) await Promise.all(entries.map((e) => e.inflight))
    if (this.crashed) return
    const taken: { entry: PartitionEntry; plan: FlushPlan }[] = []
    const now = Date.now()
    for (const entry of entries) {
      if (entry.dead || entry.inflight) continue
      const plan = entry.proc.takeFlush()
      entry.lastFlush = now
      if (plan) taken.push({ entry, plan })
    }
    const runs = chunkByMetadata(taken, (t) => memberOf(t.plan), this.options.setId).map((chunk) => this.start(chunk.map((c) => c.entry), chunk.map((c) => c.plan), wait))
    await Promise.all(runs)
  }

  /** The offset log's commit for these entries: refused once any of them was dropped. */
  private commit(entries: readonly PartitionEntry[], commits: readonly MemberCommit[]): Promise<void> {
    if (entries.some((e) => e.dead)) {
      const what = commits.map((c) => `${c.topic}/${c.partition}@${c.offset}`).join(', ')
      return Promise.reject(new EngineError(EngineErrorCode.COMMIT_REFUSED, `not committing ${what}: the partition's state was dropped`))
    }
    return this.options.commit(commits)
  }

  /**
   * Runs the flush of one plan, or of several as a group, as every member's `inflight`: with
   * `wait` it resolves when committed; without, as soon as it has started. False if it failed.
   */
  private async start(entries: readonly PartitionEntry[], plans: readonly FlushPlan[], wait: boolean): Promise<boolean> {
    const { executor, metrics, log } = this.options
    const execution =
      plans.length === 1
        ? executor.execute(plans[0]!, (topic, partition, offset, metadata) => this.commit(entries, [{ topic, partition, offset, metadata }]))
        : executor.executeGroup(plans, (commits) => this.commit(entries, commits))
    const run = execution.then(
      () => {
        metrics.paused.set(0)
        return true
      },
      (err: unknown) => {
        // The commit was refused or failed, or the sink gave up: drop the partitions' state; their
        // owner replays from the committed offset and metadata (after a rebalance, the next join's).
        const stillOurs = entries.map((e) => !e.dead && !this.crashed)
        for (const entry of entries) {
          entry.dead = true
          if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key)
        }
        log.warn({ err: (err as Error).message, ranges: plans.map((p) => `${p.topic}/${p.partition}@${p.first}-${p.last}`) }, 'flush failed; partition state dropped for replay')
        if (err instanceof SinkError) this.options.fatal(err)
        // Under the lock; a batch that re-opened the partition meanwhile has put it where it must be read.
        else for (const [i, p] of plans.entries()) if (stillOurs[i]) void this.locked(async () => this.entries.has(`${p.topic}:${p.partition}`) || (await this.options.readAgain(p.topic, p.partition, p.first))).catch((e: Error) => this.options.fatal(e))
        return false
      },
    )
    for (const entry of entries) {
      const settled: Promise<boolean> = run.finally(() => {
        if (entry.inflight === settled) entry.inflight = null
      })
      entry.inflight = settled
    }
    return wait ? await run : true
  }
}

function candidate(entry: PartitionEntry) {
  return { entry, pending: entry.proc.pendingRecords, pendingBytes: entry.proc.pendingBytes, lag: entry.lag, lastFlush: entry.lastFlush }
}

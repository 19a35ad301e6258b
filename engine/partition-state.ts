/*
 * Per-partition event-time state: the watermark, and the memory of recently seen event ids.
 *
 * Replay determinism is the design constraint. After a crash the engine re-reads an offset range
 * and must classify every record exactly as the first run did, so this state is a pure function
 * of the records of the partition in offset order, plus what the checkpoint carries (the watermark
 * and the offset `horizonStart` from which the id memory can be rebuilt). That is why:
 * - the watermark advances only with event time (max event time − out-of-orderness). An idle
 *   partition's wall-clock advance closes windows for signals (see `closedUpTo`) but never
 *   reclassifies records, because wall-clock moments are not in the log;
 * - a duplicate is decided by comparing the remembered time with the watermark at the moment of
 *   the check (not by what happens to still be in memory), so lazy eviction cannot change results.
 *
 * Why replaying from `horizonStart` rebuilds the id memory exactly (given that an event id names
 * one event, so a duplicate repeats its event time, and dedupHorizon ≤ allowedLateness): an id
 * can make a later record a duplicate only while its time ≥ watermark − horizon; every such id
 * was accepted at an offset ≥ the first entry still retained, which is what horizonStart records.
 * Hitting maxRememberedIds breaks this guarantee for the evicted ids (counted in evictedByCap).
 */

export const Classification = {
  /** On time or late within the allowed lateness: counts. */
  accept: 'accept',
  /** Event time older than watermark − allowed lateness: goes to the late-event topic. */
  tooLate: 'too_late',
  /** The same event id was seen within the horizon: counted once, this copy dropped. */
  duplicate: 'duplicate',
} as const
export type Classification = (typeof Classification)[keyof typeof Classification]

export interface EventTimePolicy {
  /** Watermark = max event time − this. */
  readonly outOfOrdernessMs: number
  /** Records older than watermark − this go to the late topic. */
  readonly allowedLatenessMs: number
  /** Event ids are remembered while their time ≥ watermark − this (≤ allowed lateness). */
  readonly dedupHorizonMs: number
  /** A bound on remembered ids per partition, whatever the horizon. */
  readonly maxRememberedIds: number
}

export const DEFAULT_EVENT_TIME_POLICY: EventTimePolicy = Object.freeze({
  outOfOrdernessMs: 5_000,
  allowedLatenessMs: 5 * 60_000,
  dedupHorizonMs: 5 * 60_000,
  maxRememberedIds: 2_000_000,
})

/** What a checkpoint carries for a partition (also the replay starting state). */
export interface PartitionCheckpoint {
  /** The watermark before the next record; -Infinity encoded as null. */
  readonly watermark: number | null
  /** The lowest offset whose id may still be remembered: replay from here rebuilds the memory. */
  readonly horizonStart: string | null
}

export class PartitionState {
  private wm: number
  private readonly times = new Map<string, number>()
  // The remembered ids in insertion (offset) order, for eviction and for the horizon start, as
  // three parallel arrays from `head` on: no object per id (an accepted event's entry lives until
  // the horizon passes it, long enough to be promoted and traced by the old generation's collector).
  private ids: string[] = []
  private idTimes: number[] = []
  /** The offset of the record each id came in, as Kafka's decimal text (the checkpoint's horizonStart). */
  private offsets: string[] = []
  private head = 0
  duplicates = 0
  lateAccepted = 0
  tooLate = 0
  evictedByCap = 0

  constructor(private readonly policy: EventTimePolicy, checkpoint?: PartitionCheckpoint) {
    this.wm = checkpoint?.watermark ?? Number.NEGATIVE_INFINITY
  }

  get watermark(): number {
    return this.wm
  }

  /** Ids currently remembered (for memory metrics). */
  get remembered(): number {
    return this.ids.length - this.head
  }

  /** Classifies a record and updates the state as the record demands. */
  classify(id: string, time: number, offset: string): Classification {
    const p = this.policy
    let result: Classification
    if (time < this.wm - p.allowedLatenessMs) {
      result = Classification.tooLate
      this.tooLate++
    } else {
      const seen = this.times.get(id)
      if (seen !== undefined && seen >= this.wm - p.dedupHorizonMs) {
        result = Classification.duplicate
        this.duplicates++
      } else {
        result = Classification.accept
        if (time < this.wm) this.lateAccepted++
        this.remember(id, time, offset)
      }
    }
    const candidate = time - p.outOfOrdernessMs
    if (candidate > this.wm) this.wm = candidate
    this.evict()
    return result
  }

  /**
   * Rebuilds the id memory from a record before the replay start (the records between the
   * checkpoint's horizonStart and the replay start), without counting anything.
   */
  rememberReplayed(id: string, time: number, offset: string): void {
    if (time < this.wm - this.policy.allowedLatenessMs) return
    const seen = this.times.get(id)
    if (seen !== undefined && seen >= this.wm - this.policy.dedupHorizonMs) return
    this.remember(id, time, offset)
  }

  checkpoint(): PartitionCheckpoint {
    this.evict()
    return { watermark: Number.isFinite(this.wm) ? this.wm : null, horizonStart: this.offsets[this.head] ?? null }
  }

  private remember(id: string, time: number, offset: string): void {
    this.times.set(id, time)
    this.ids.push(id)
    this.idTimes.push(time)
    this.offsets.push(offset)
  }

  private evict(): void {
    const limit = this.wm - this.policy.dedupHorizonMs
    const { ids, idTimes } = this
    while (this.head < ids.length) {
      const time = idTimes[this.head] as number
      const overCap = ids.length - this.head > this.policy.maxRememberedIds
      if (time >= limit && !overCap) break
      if (overCap && time >= limit) this.evictedByCap++
      const id = ids[this.head] as string
      if (this.times.get(id) === time) this.times.delete(id)
      this.head++
    }
    if (this.head > 4096 && this.head * 2 > ids.length) {
      this.ids = ids.slice(this.head)
      this.idTimes = idTimes.slice(this.head)
      this.offsets = this.offsets.slice(this.head)
      this.head = 0
    }
  }
}

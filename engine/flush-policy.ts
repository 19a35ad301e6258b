/**
 * When a partition flushes. Every flush costs ClickHouse a fixed price per table insert (a new
 * part in the table and in each rollup view's table: ≈ 1.5–2 ms per part on the embedded engine,
 * so ≈ 6–11 ms for a cube table with its hour and day views, whether it holds 1 row or 100 —
 * measured by bench/inserts.ts). A worker that flushes every partition every second while it works
 * through a backlog pays those costs, and leaves many small parts to merge, for data that is stale
 * anyway. (On the 2-core benchmark machine the throughput gain was within noise — kafkajs's large
 * batches already make few flushes, and inserts overlap decoding — see bench/README.md.) So:
 *  - a partition that is caught up flushes every `intervalMs` (fresh dashboards);
 *  - a partition that is behind (its lag at the last batch ≥ `catchUpLag` records) flushes every
 *    `catchUpIntervalMs`: the data is already stale, and larger flushes let the worker catch up;
 *  - any partition flushes at `maxRecords` buffered records;
 *  - the worker as a whole holds at most `bufferMaxRecords` unflushed records and
 *    `bufferMaxBytes` unflushed record bytes (the records' values: what the flush will insert
 *    is about that size): over either, every partition holding records flushes, as a group
 *    (bounded memory, whatever the partition count and the record size; budgetFlushGroups);
 *  - timed flushes are group commits: when any caught-up partition's timed flush is due, every
 *    caught-up partition with records flushes with it, up to `groupMax` partitions in one insert
 *    per table (FlushExecutor.executeGroup). The fixed price per insert is then paid once per
 *    table and interval, not once per partition, table and interval. Size-triggered flushes
 *    stay per partition (they are large already).
 */
export interface FlushPolicy {
  readonly intervalMs: number
  readonly catchUpIntervalMs: number
  readonly catchUpLag: number
  readonly maxRecords: number
  readonly bufferMaxRecords: number
  /** The worker-wide budget of unflushed record bytes. */
  readonly bufferMaxBytes: number
  /** At most this many partitions per group flush; 1: every partition flushes on its own. */
  readonly groupMax: number
}

/** A partition as the policy sees it. */
export interface FlushCandidate {
  /** Records buffered since the last flush. */
  readonly pending: number
  /** Records behind the partition's high watermark at the last batch (0 if unknown). */
  readonly lag: number
  /** Wall-clock time of the last flush. */
  readonly lastFlush: number
}

/** The timed-flush interval of a partition with this lag. */
export function flushIntervalFor(lag: number, policy: FlushPolicy): number {
  return lag >= policy.catchUpLag ? Math.max(policy.intervalMs, policy.catchUpIntervalMs) : policy.intervalMs
}

/** True when the partition's timed flush is due. */
export function timedFlushDue(c: FlushCandidate, now: number, policy: FlushPolicy): boolean {
  return c.pending > 0 && now - c.lastFlush >= flushIntervalFor(c.lag, policy)
}

/** A partition as the memory budget sees it: its records and their bytes (record values). */
export interface BudgetCandidate extends FlushCandidate {
  readonly pendingBytes: number
}

/**
 * The candidates to flush, most bytes first, until the worker's buffered records and bytes both
 * fall within the budget (empty while they are).
 */
export function overBudget<T extends BudgetCandidate>(candidates: Iterable<T>, policy: Pick<FlushPolicy, 'bufferMaxRecords' | 'bufferMaxBytes'>): T[] {
  const list = [...candidates]
  let records = 0
  let bytes = 0
  for (const c of list) {
    records += c.pending
    bytes += c.pendingBytes
  }
  const over = () => records > policy.bufferMaxRecords || bytes > policy.bufferMaxBytes
  if (!over()) return []
  const out: T[] = []
  for (const c of list.filter((x) => x.pending > 0).sort((a, b) => b.pendingBytes - a.pendingBytes || b.pending - a.pending)) {
    if (!over()) break
    out.push(c)
    records -= c.pending
    bytes -= c.pendingBytes
  }
  return out
}

/**
 * The budget's flushes, as groups: none while the worker's buffer is within its budget; over it,
 * every candidate holding records, in chunks of at most `groupMax` (one insert per table, as a
 * timed round). Flushing only the fullest partitions, one insert each, wrote 3–5× the anchor's
 * blocks into the stream's tables on a backlog, and merges rewrote them (≈ 5× its merge CPU,
 * bench/README.md). With groupMax 1: the fullest alone, until the rest fits (overBudget).
 */
export function budgetFlushGroups<T extends BudgetCandidate>(candidates: Iterable<T>, policy: Pick<FlushPolicy, 'bufferMaxRecords' | 'bufferMaxBytes' | 'groupMax'>): T[][] {
  const list = [...candidates]
  const over = overBudget(list, policy)
  if (over.length === 0) return []
  if (policy.groupMax <= 1) return over.map((c) => [c])
  return groupsOf(list.filter((c) => c.pending > 0), policy)
}

/**
 * The timed flushes of one tick, as groups: nothing unless some candidate is due; then the due
 * ones and every other caught-up candidate with records (lagging ones only when due: their
 * interval is longer), in chunks of at most `groupMax`. With groupMax 1: each due candidate alone.
 */
export function timedFlushGroups<T extends FlushCandidate>(candidates: Iterable<T>, now: number, policy: FlushPolicy): T[][] {
  const due: T[] = []
  const ready: T[] = []
  for (const c of candidates) {
    if (c.pending === 0) continue
    if (timedFlushDue(c, now, policy)) due.push(c)
    else if (c.lag < policy.catchUpLag) ready.push(c)
  }
  if (due.length === 0) return []
  if (policy.groupMax <= 1) return due.map((c) => [c])
  return groupsOf([...due, ...ready], policy)
}

/** Partitions cut into groups of at most `groupMax` (one each when group commits are off). */
export function groupsOf<T>(items: readonly T[], policy: Pick<FlushPolicy, 'groupMax'>): T[][] {
  const size = Math.max(1, policy.groupMax)
  const groups: T[][] = []
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size))
  return groups
}

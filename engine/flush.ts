import type { Logger } from 'pino'
import { insertRows, insertText, joinPayloads, ROW_SEPARATOR, RetryGate, SessionPool, type ClickHouse, type Forwarder, type Payload, type RetryPolicy } from '../sinks/index.js'
import { byTopicPartition, deduplicationToken, encodeCheckpoint, groupId, groupToken, memberOf, type GroupDescriptor } from './checkpoint.js'
import type { FlushPlan } from './processor.js'
import type { SourceRecord } from './source-record.js'
import type { EngineMetrics } from './metrics.js'
import { STREAM_PIPELINE } from './stream-rows.js'
import { EngineError, EngineErrorCode } from './errors.js'

/** Commits an offset with metadata for one topic-partition (the source's own commit). */
export type CommitFn = (topic: string, partition: number, offset: string, metadata: string) => Promise<void>

/** One offset commit of a group's member. */
export interface MemberCommit {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  readonly metadata: string
}

/** Commits several topic-partitions' offsets in one request: all of them, or it throws. */
export type CommitManyFn = (commits: readonly MemberCommit[]) => Promise<void>

interface InsertJob {
  readonly table: string
  readonly token: string
  readonly rows: readonly Record<string, unknown>[]
  /** Stream rows: serialised in the order of `columns`, `count` rows (then `rows` is empty). */
  readonly columns?: readonly string[]
  readonly payload?: Payload
  readonly count?: number
}

export interface FlushExecutorOptions {
  readonly ch: ClickHouse
  /**
   * More connections to the same database: a flush's table inserts then run concurrently, one
   * per connection (an embedded session runs one statement at a time; the engine has more cores).
   */
  readonly extraConnections?: readonly ClickHouse[]
  readonly forwarder: Forwarder | null
  readonly pipelineSet: string
  readonly retry?: RetryPolicy
  readonly log: Logger
  readonly metrics?: EngineMetrics
  /** Called while an insert retries, so the source can keep its group membership alive. */
  readonly heartbeat?: () => Promise<void>
  /** Test hook: runs before each table insert (fault injection for outage tests). */
  readonly beforeInsert?: (table: string, token: string) => void | Promise<void>
  /**
   * Names the stream in every token when its offsets are not unique for ever. A Kafka
   * topic-partition never reuses an offset; the built-in generator starts at 0 on every run, so
   * without this a second run into the same database (npm start restarted, a second scripted fill)
   * reuses the first run's tokens wherever a flush range coincides and ClickHouse drops it as a
   * duplicate.
   */
  readonly streamId?: string
}

const forwarded = (plan: FlushPlan, r: SourceRecord) => ({ sourceTopic: plan.topic, sourcePartition: plan.partition, sourceOffset: r.offset, key: r.key, value: r.value, headers: r.headers })

/**
 * The exactly-once flush protocol (ARCHITECTURE.md):
 *  1. commit offset `first` with metadata {state before, pending: last} — the range is now on record;
 *  2. forward dead letters and late events (acks=all);
 *  3. insert every table's rows with insert_deduplication_token = pipeline/table/topic/partition/first-last
 *     (the stream rows once per stream: its views fill the cubes, each target dropping a replay);
 *  4. commit last+1 with the state after.
 * A crash anywhere before 4 leaves `pending` behind: the next owner re-reads exactly [first, last],
 * builds the same rows (the processor is a pure function of the records and the carried state)
 * and inserts them with the same tokens, which ClickHouse drops where they had already landed.
 */
export class FlushExecutor {
  private pausedSince: number | null = null
  /** Inserts and forwards retrying now: sinkReady() waits until none does. */
  private readonly retries = new RetryGate()
  /** A session runs one statement at a time: inserts take an idle connection or wait. */
  private readonly pool: SessionPool

  constructor(private readonly options: FlushExecutorOptions) {
    this.pool = new SessionPool([options.ch, ...(options.extraConnections ?? [])])
  }

  /** How many connections the executor spreads inserts over. */
  get connections(): number {
    return this.pool.size
  }

  /**
   * Resolves at once while the sink works; while any insert or forward retries, once none does
   * (each has succeeded or given up). The transports wait on it before they take a batch, so a
   * failing sink stops consumption where it stands instead of letting every partition fill to its
   * flush threshold (what Kafka Connect does on a retriable error: it pauses the partitions).
   */
  sinkReady(): Promise<void> {
    return this.retries.ready()
  }

  /** An insert outside the flush protocol (no token, no retry): status tables such as watermarks. */
  async insertPlain(table: string, rows: readonly Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return
    const connection = await this.pool.acquire()
    try {
      await insertRows(connection, table, rows)
    } finally {
      this.pool.release(connection)
    }
  }

  /** A flush of one partition's plan alone, its tokens naming its range (the protocol above). */
  async execute(plan: FlushPlan, commit: CommitFn): Promise<void> {
    await this.run([plan], null, ([c]) => commit(plan.topic, plan.partition, (c as MemberCommit).offset, (c as MemberCommit).metadata))
  }

  /**
   * A group flush: the plans of several partitions, one insert per table for all of them.
   *  1. one commit request puts every member's range on record at its `first`, each naming the
   *     whole group (ids, ranges and states before) — Kafka appends one request's offsets as one
   *     batch, and the worker treats any member it cannot confirm as a failed flush;
   *  2. dead letters and late events of every member are forwarded;
   *  3. each table's rows of all members, concatenated in member order, are inserted with the
   *     token pipeline/table/group/<id>;
   *  4. one commit request moves every member past its range with its state after.
   * A crash before 4 leaves every member pending on the same group: whoever finds one rebuilds
   * all members' plans from the log (FlushExecutor.writeGroup), so the blocks and tokens are
   * identical and ClickHouse drops the tables that had landed.
   */
  async executeGroup(plans: readonly FlushPlan[], commit: CommitManyFn): Promise<void> {
    const { group, ordered } = this.describeGroup(plans)
    await this.run(ordered, group, commit)
  }

  /** The group a set of plans forms: members in (topic, partition) order, its id, and the plans in that order. */
  describeGroup(plans: readonly FlushPlan[]): { group: GroupDescriptor; ordered: FlushPlan[] } {
    const ordered = [...plans].sort(byTopicPartition)
    const members = ordered.map(memberOf)
    return { group: { id: groupId(members, this.options.streamId), members }, ordered }
  }

  /**
   * Steps 2 and 3 of a group flush, also what a worker that finds a pending group runs after
   * rebuilding every member's plan. `plans` must be in the group's member order.
   */
  async writeGroup(plans: readonly FlushPlan[], group: GroupDescriptor): Promise<void> {
    await this.write(plans, group)
  }

  /** Steps 1 to 4 for plans in member order: alone (group null) or as a group. */
  private async run(plans: readonly FlushPlan[], group: GroupDescriptor | null, commit: CommitManyFn): Promise<void> {
    const { log, metrics } = this.options
    const set = this.options.pipelineSet
    const started = performance.now()
    await commit(plans.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.first, metadata: encodeCheckpoint(p.before, set, p.last, group) })))
    const pendingCommitted = performance.now()
    const { forwardedAt, rows } = await this.write(plans, group)
    const insertedAt = performance.now()
    await commit(plans.map((p) => ({ topic: p.topic, partition: p.partition, offset: (BigInt(p.last) + 1n).toString(), metadata: encodeCheckpoint(p.after, set) })))
    this.observePhases(started, pendingCommitted, forwardedAt, insertedAt)
    this.recovered()
    const seconds = (performance.now() - started) / 1000
    if (group) metrics?.groupMembers.observe(plans.length)
    metrics?.observeFlush(plans, rows, seconds)
    const ms = Math.round(seconds * 1000)
    if (group) log.debug({ flushGroup: group.id, members: plans.length, rows, ms }, 'group flushed')
    else for (const p of plans) log.debug({ topic: p.topic, partition: p.partition, first: p.first, last: p.last, rows, records: p.counts.records, ms }, 'flushed')
  }

  /**
   * Steps 2 and 3: forwards every plan's dead letters and late events, then inserts each table's
   * rows of all plans, concatenated in their order, under the group's token — or, for a plan alone,
   * under its range's token. Returns when the forwarding ended and the rows written.
   */
  private async write(plans: readonly FlushPlan[], group: GroupDescriptor | null): Promise<{ forwardedAt: number; rows: number }> {
    const alone = group ? null : plans[0]
    if (alone && plans.length !== 1) throw new EngineError(EngineErrorCode.INVARIANT, 'a flush without a group writes exactly one plan')
    for (const plan of plans) await this.forward(plan)
    const forwardedAt = performance.now()
    // Each table's parts in plan order; a plan alone's rows are inserted as they are (no copy).
    const tables = new Map<string, { table: string; token: string; parts: (readonly Record<string, unknown>[])[] }>()
    const streams = new Map<string, { token: string; columns: readonly string[]; parts: Payload[]; count: number }>()
    const tokenOf = (pipeline: string, table: string) => (alone ? this.rangeToken(pipeline, table, alone) : groupToken(pipeline, table, (group as GroupDescriptor).id))
    let n = 0
    for (const plan of plans) {
      if (plan.stream) {
        const { table, columns, payload, rows } = plan.stream
        let job = streams.get(table)
        // Stream rows name the pipeline set: groups running other sets insert other blocks.
        if (!job) streams.set(table, (job = { token: tokenOf(`${STREAM_PIPELINE}.${this.options.pipelineSet}`, table), columns, parts: [], count: 0 }))
        job.parts.push(payload)
        job.count += rows
        n += rows
      }
      for (const [pipeline, byTable] of plan.rows) {
        for (const [table, tableRows] of byTable) {
          if (tableRows.length === 0) continue
          const key = `${pipeline}\u0000${table}`
          let job = tables.get(key)
          if (!job) tables.set(key, (job = { table, token: tokenOf(pipeline, table), parts: [] }))
          job.parts.push(tableRows)
          n += tableRows.length
        }
      }
    }
    await this.insertAll([
      ...[...streams].map(([table, j]) => ({ table, token: j.token, rows: [], columns: j.columns, payload: joinPayloads(j.parts, ROW_SEPARATOR), count: j.count })),
      ...[...tables.values()].map((j) => ({ table: j.table, token: j.token, rows: j.parts.length === 1 ? (j.parts[0] as readonly Record<string, unknown>[]) : j.parts.flat() })),
    ])
    return { forwardedAt, rows: n }
  }

  private rangeToken(pipeline: string, table: string, plan: FlushPlan): string {
    return deduplicationToken(pipeline, table, this.options.streamId ? `${plan.topic}#${this.options.streamId}` : plan.topic, plan.partition, plan.first, plan.last)
  }

  private async forward(plan: FlushPlan): Promise<void> {
    const forwarder = this.options.forwarder
    if (!forwarder) return
    const set = this.options.pipelineSet
    // Records are decoded once for the whole pipeline set, so the header names the set.
    if (plan.deadLetters.length > 0) await this.retrying('forward', () => forwarder.deadLetter(plan.deadLetters.map((d) => ({ record: forwarded(plan, d.record), error: d.error })), set))
    if (plan.late.length > 0) await this.retrying('forward', () => forwarder.late(plan.late.map((l) => ({ record: forwarded(plan, l.record), eventId: l.eventId, eventTime: l.eventTime, watermark: l.watermark })), set))
  }

  /**
   * Largest first, spread over the pooled connections (shared by concurrent flushes of other
   * partitions); the order of a flush's inserts does not matter (each has its own token, and the
   * range is committed only after all of them).
   */
  private async insertAll(inserts: InsertJob[]): Promise<void> {
    const metrics = this.options.metrics
    const size = (j: InsertJob) => j.count ?? j.rows.length
    inserts.sort((a, b) => size(b) - size(a))
    await Promise.all(
      inserts.map(async (job) => {
        const connection = await this.pool.acquire()
        const insertStarted = performance.now()
        try {
          await this.retrying('insert', async () => {
            await this.options.beforeInsert?.(job.table, job.token)
            if (job.columns && job.payload) await insertText(connection, job.table, job.columns, job.payload.bytes, job.count ?? 0, { deduplicationToken: job.token, partialAggregates: true })
            else await insertRows(connection, job.table, job.rows, { deduplicationToken: job.token, partialAggregates: true })
          })
          // Only after success: the bytes of a failed insert may still be read by one that timed out.
          job.payload?.release()
          metrics?.insertSeconds.observe({ table: job.table }, (performance.now() - insertStarted) / 1000)
        } finally {
          this.pool.release(connection)
        }
      }),
    )
  }

  /** The phases of one flush (a group flush counts once). */
  private observePhases(started: number, pendingCommitted: number, forwardedAt: number, insertedAt: number): void {
    const phase = this.options.metrics?.flushPhaseSeconds
    if (!phase) return
    phase.observe({ phase: 'pending_commit' }, (pendingCommitted - started) / 1000)
    phase.observe({ phase: 'forward' }, (forwardedAt - pendingCommitted) / 1000)
    phase.observe({ phase: 'inserts' }, (insertedAt - forwardedAt) / 1000)
    phase.observe({ phase: 'commit' }, (performance.now() - insertedAt) / 1000)
  }

  private recovered(): void {
    if (this.pausedSince !== null) {
      this.options.log.info({ pausedMs: Date.now() - this.pausedSince }, 'sink recovered: consumption resumed')
      this.pausedSince = null
    }
  }

  private retrying<T>(what: 'insert' | 'forward', fn: () => Promise<T>): Promise<T> {
    return this.retries.run(fn, {
      policy: this.options.retry,
      retryable: (err) => (err as { retryable?: boolean }).retryable !== false,
      onRetry: (err, attempt, delayMs) => this.onRetry(what, err, attempt, delayMs),
    })
  }

  private async onRetry(what: 'insert' | 'forward', err: unknown, attempt: number, delayMs: number): Promise<void> {
    this.options.metrics?.retries.inc({ operation: what })
    if (this.pausedSince === null) {
      this.pausedSince = Date.now()
      this.options.log.warn({ operation: what }, 'sink failing: consumption paused until it recovers')
    }
    this.options.log.warn({ err: (err as Error).message, attempt, delayMs, operation: what }, `${what} failed; retrying`)
    await this.options.heartbeat?.()
  }
}

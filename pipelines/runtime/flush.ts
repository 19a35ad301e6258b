import type { Logger } from 'pino'
import { insertRows, SessionPool, withRetry, type ClickHouse, type Forwarder, type RetryPolicy } from '../../sinks/index.js'
import { deduplicationToken, encodeCheckpoint } from './checkpoint.js'
import type { FlushPlan, SourceRecord } from './processor.js'
import type { EngineMetrics } from './metrics.js'

/** Commits an offset with metadata for one topic-partition (the source's own commit). */
export type CommitFn = (topic: string, partition: number, offset: string, metadata: string) => Promise<void>

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
  readonly beforeInsert?: (table: string) => void | Promise<void>
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
 *  3. insert every table's rows with insert_deduplication_token = pipeline/table/topic/partition/first-last;
 *  4. commit last+1 with the state after.
 * A crash anywhere before 4 leaves `pending` behind: the next owner re-reads exactly [first, last],
 * builds the same rows (the processor is a pure function of the records and the carried state)
 * and inserts them with the same tokens, which ClickHouse drops where they had already landed.
 */
export class FlushExecutor {
  private pausedSince: number | null = null
  /** A session runs one statement at a time: inserts take an idle connection or wait. */
  private readonly pool: SessionPool

  constructor(private readonly options: FlushExecutorOptions) {
    this.pool = new SessionPool([options.ch, ...(options.extraConnections ?? [])])
  }

  /** How many connections the executor spreads inserts over. */
  get connections(): number {
    return this.pool.size
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

  async execute(plan: FlushPlan, commit: CommitFn): Promise<void> {
    const { forwarder, log, metrics } = this.options
    const started = performance.now()
    const next = (BigInt(plan.last) + 1n).toString()
    const set = this.options.pipelineSet
    await commit(plan.topic, plan.partition, plan.first, encodeCheckpoint(plan.before, set, plan.last))
    const pendingCommitted = performance.now()

    if (forwarder) {
      // Records are decoded once for the whole pipeline set, so the header names the set.
      await this.retrying('forward', () => forwarder.deadLetter(plan.deadLetters.map((d) => ({ record: forwarded(plan, d.record), error: d.error })), set))
      await this.retrying('forward', () => forwarder.late(plan.late.map((l) => ({ record: forwarded(plan, l.record), eventId: l.eventId, eventTime: l.eventTime, watermark: l.watermark })), set))
    }

    const forwardedAt = performance.now()
    const inserts: { table: string; token: string; rows: readonly Record<string, unknown>[] }[] = []
    for (const [pipeline, tables] of plan.rows) {
      for (const [table, tableRows] of tables) {
        if (tableRows.length > 0) inserts.push({ table, token: deduplicationToken(pipeline, table, this.options.streamId ? `${plan.topic}#${this.options.streamId}` : plan.topic, plan.partition, plan.first, plan.last), rows: tableRows })
      }
    }
    // Largest first, spread over the pooled connections (shared by concurrent flushes of other
    // partitions); the order of a flush's inserts does not matter (each has its own token, and
    // the range is committed only after all of them).
    inserts.sort((a, b) => b.rows.length - a.rows.length)
    await Promise.all(
      inserts.map(async (job) => {
        const connection = await this.pool.acquire()
        const insertStarted = performance.now()
        try {
          await this.retrying('insert', async () => {
            await this.options.beforeInsert?.(job.table)
            await insertRows(connection, job.table, job.rows, { deduplicationToken: job.token, partialAggregates: true })
          })
          metrics?.insertSeconds.observe({ table: job.table }, (performance.now() - insertStarted) / 1000)
        } finally {
          this.pool.release(connection)
        }
      }),
    )
    const rows = inserts.reduce((n, i) => n + i.rows.length, 0)
    const insertedAt = performance.now()

    await commit(plan.topic, plan.partition, next, encodeCheckpoint(plan.after, set))
    if (metrics) {
      const phase = metrics.flushPhaseSeconds
      phase.observe({ phase: 'pending_commit' }, (pendingCommitted - started) / 1000)
      phase.observe({ phase: 'forward' }, (forwardedAt - pendingCommitted) / 1000)
      phase.observe({ phase: 'inserts' }, (insertedAt - forwardedAt) / 1000)
      phase.observe({ phase: 'commit' }, (performance.now() - insertedAt) / 1000)
    }
    if (this.pausedSince !== null) {
      log.info({ pausedMs: Date.now() - this.pausedSince }, 'sink recovered: consumption resumed')
      this.pausedSince = null
    }
    const seconds = (performance.now() - started) / 1000
    metrics?.observeFlush(plan, rows, seconds)
    log.debug({ topic: plan.topic, partition: plan.partition, first: plan.first, last: plan.last, rows, records: plan.counts.records, ms: Math.round(seconds * 1000) }, 'flushed')
  }

  private retrying<T>(what: 'insert' | 'forward', fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, {
      policy: this.options.retry,
      retryable: (err) => (err as { retryable?: boolean }).retryable !== false,
      onRetry: async (err, attempt, delayMs) => {
        this.options.metrics?.retries.inc({ operation: what })
        if (this.pausedSince === null) {
          this.pausedSince = Date.now()
          this.options.log.warn({ operation: what }, 'sink failing: consumption paused until it recovers')
        }
        this.options.log.warn({ err: (err as Error).message, attempt, delayMs, operation: what }, `${what} failed; retrying`)
        await this.options.heartbeat?.()
      },
    })
  }
}

import { Partitioners, type Admin, type Consumer, type EachBatchPayload, type Kafka, type Producer } from 'kafkajs'
import type { Logger } from 'pino'
import { EventTypes, type Codec, type EventType } from '../../schemas/index.js'
import { createKafkaForwarder, SinkError, type ClickHouse, type RetryPolicy } from '../../sinks/index.js'
import { ensureTopics } from '../kafka/topics.js'
import { decodeCheckpoint } from './checkpoint.js'
import { EngineError, EngineErrorCode } from './errors.js'
import { FlushExecutor } from './flush.js'
import type { EngineMetrics } from './metrics.js'
import type { EventTimePolicy } from './partition-state.js'
import type { PipelineDefinition } from './pipeline.js'
import { PartitionProcessor, pipelineSetId, type SourceRecord } from './processor.js'

export interface WorkerOptions {
  readonly kafka: Kafka
  readonly groupId: string
  readonly topicPrefix: string
  readonly pipelines: readonly PipelineDefinition[]
  readonly codecs: Readonly<Record<EventType, Codec>>
  readonly policy: EventTimePolicy
  /** Flush a partition's buffered aggregates at least this often… */
  readonly flushIntervalMs: number
  /** …or when it has buffered this many records. */
  readonly flushMaxRecords: number
  readonly ch: ClickHouse
  /** More connections to the same database for concurrent table inserts within a flush. */
  readonly extraConnections?: readonly ClickHouse[]
  readonly log: Logger
  readonly metrics: EngineMetrics
  readonly retry?: RetryPolicy
  /** How long the group waits for a silent member before reassigning its partitions. */
  readonly sessionTimeoutMs?: number
  /** Test hook passed to the flush executor (fault injection). */
  readonly beforeInsert?: (table: string) => void | Promise<void>
}

/** The dead-letter and late-event topics under a prefix. */
export function sideTopics(prefix: string) {
  return { deadLetter: `${prefix}dead-letter`, late: `${prefix}late` }
}

/**
 * A stream worker on kafkajs: one consumer group for a fixed set of pipelines. Each record is
 * decoded once and fed to every pipeline that reads its stream; per-partition processors buffer
 * partial aggregates, and flushes follow the exactly-once protocol of FlushExecutor.
 *
 * Concurrency: every mutation of processor state (a batch, a timed flush, a rebalance, shutdown)
 * runs under one lock, so a flush never interleaves with the processing of its own partition.
 * Backpressure: flushes run inside the batch handler, so while ClickHouse is slow or down and the
 * insert retries, kafkajs fetches nothing more; memory is bounded by the flush thresholds.
 */
export class KafkaWorker {
  private readonly consumer: Consumer
  private readonly admin: Admin
  private readonly producer: Producer
  private readonly processors = new Map<string, { proc: PartitionProcessor; lastFlush: number }>()
  private readonly executor: FlushExecutor
  private readonly setId: string
  private readonly topics: Map<string, EventType>
  private lock: Promise<unknown> = Promise.resolve()
  private crashed = false
  /** Set from the moment the group starts rebalancing until this member has joined again. */
  private rebalancing = false
  private timer: NodeJS.Timeout | undefined
  private heartbeat: (() => Promise<void>) | undefined
  private fatal: ((err: Error) => void) | undefined
  private finished: (() => void) | undefined
  private stopped = false
  /** After disconnect starts, commits are no longer possible. */
  private stoppedConsuming = false

  constructor(private readonly options: WorkerOptions) {
    const { kafka, groupId } = options
    this.setId = pipelineSetId(options.pipelines)
    const types = new Set(options.pipelines.flatMap((p) => p.sources))
    this.topics = new Map([...types].map((t) => [`${options.topicPrefix}${EventTypes[t].topic}`, t]))
    this.consumer = kafka.consumer({ groupId, sessionTimeout: options.sessionTimeoutMs ?? 30_000, heartbeatInterval: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)), rebalanceTimeout: 60_000, maxBytesPerPartition: 4 * 1024 * 1024, retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000 } })
    this.admin = kafka.admin()
    this.producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner })
    this.executor = new FlushExecutor({
      ch: options.ch,
      extraConnections: options.extraConnections,
      forwarder: createKafkaForwarder(this.producer, sideTopics(options.topicPrefix)),
      pipelineSet: this.setId,
      retry: options.retry,
      log: options.log.child({ module: 'sink.clickhouse' }),
      metrics: options.metrics,
      heartbeat: async () => {
        options.metrics.paused.set(1)
        await this.heartbeat?.().catch(() => {})
      },
      beforeInsert: options.beforeInsert,
    })
  }

  /** Connects, joins the group and consumes until stop() (then resolves); rejects on a fatal error. */
  async run(): Promise<void> {
    const { log } = this.options
    await Promise.all([this.admin.connect(), this.producer.connect()])
    await ensureTopics(this.admin, [...this.topics.keys()], 6)
    const side = sideTopics(this.options.topicPrefix)
    await ensureTopics(this.admin, [side.deadLetter, side.late], 1)
    await this.consumer.connect()
    const { GROUP_JOIN, REBALANCING, CRASH } = this.consumer.events
    this.consumer.on(REBALANCING, () => {
      // Synchronously, not under the lock: a flush holding the lock must see it and stop committing.
      this.rebalancing = true
      log.info({ group: this.options.groupId }, 'rebalancing: dropping unflushed partition state (replayed from the committed offsets)')
      void this.locked(async () => this.processors.clear())
    })
    this.consumer.on(GROUP_JOIN, (e) => {
      this.rebalancing = false
      log.info({ group: this.options.groupId, assignment: e.payload.memberAssignment }, 'joined group')
      void this.locked(async () => this.processors.clear())
    })
    this.consumer.on(this.consumer.events.FETCH, (e) => log.trace({ batches: e.payload.numberOfBatches, ms: e.payload.duration }, 'fetched'))
    this.consumer.on(CRASH, (e) => log.error({ err: e.payload.error.message, restart: e.payload.restart }, 'consumer crashed'))
    await this.consumer.subscribe({ topics: [...this.topics.keys()], fromBeginning: true })
    const done = new Promise<void>((resolve, reject) => {
      this.fatal = reject
      this.finished = resolve
    })
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => {
        log.trace({ topic: payload.batch.topic, partition: payload.batch.partition }, 'batch arrived')
        return this.locked(() => this.onBatch(payload))
      },
    })
    this.timer = setInterval(() => void this.locked(() => this.flushDue()).catch((err: Error) => this.fatal?.(err)), Math.max(50, this.options.flushIntervalMs / 2))
    log.info({ group: this.options.groupId, pipelines: this.options.pipelines.map((p) => p.name), topics: [...this.topics.keys()] }, 'worker running')
    await done
  }

  /** Graceful: flushes every partition, commits, and leaves the group. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    await this.consumer.pause([...this.topics.keys()].map((topic) => ({ topic })))
    await this.locked(async () => {
      for (const entry of this.processors.values()) if (!entry.proc.pendingLast || entry.proc.pendingComplete) await this.flush(entry)
    })
    this.stoppedConsuming = true
    await this.consumer.disconnect()
    await Promise.all([this.producer.disconnect(), this.admin.disconnect()])
    this.options.log.info({ group: this.options.groupId }, 'worker stopped')
    this.finished?.()
  }

  /** What the worker holds in memory now (for metrics and for tests of bounded memory). */
  stats(): { partitions: number; bufferedRecords: number; bufferedRows: number; rememberedIds: number } {
    let bufferedRecords = 0
    let bufferedRows = 0
    let rememberedIds = 0
    for (const { proc } of this.processors.values()) {
      bufferedRecords += proc.pendingRecords
      bufferedRows += proc.bufferedRows
      rememberedIds += proc.rememberedIds
    }
    return { partitions: this.processors.size, bufferedRecords, bufferedRows, rememberedIds }
  }

  /**
   * For tests of abrupt failure: stops processing and drops all state at once, without flushing,
   * committing or leaving the group (the caller also cuts the broker connections, so the group
   * only notices when the session times out — like a process killed with SIGKILL).
   */
  crash(): void {
    this.crashed = true
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.processors.clear()
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn)
    this.lock = next.catch(() => undefined)
    return next
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.stopped) return
    this.heartbeat = heartbeat
    this.options.log.trace({ topic: batch.topic, partition: batch.partition, first: batch.firstOffset(), records: batch.messages.length }, 'batch')
    const key = `${batch.topic}:${batch.partition}`
    let entry = this.processors.get(key)
    if (!entry) {
      const init = await this.initPartition(batch.topic, batch.partition, batch.messages[0]?.offset)
      if (!init) return // seeked: the next batch starts where the processor needs it
      entry = init
      this.processors.set(key, entry)
    }
    const { proc } = entry
    for (const m of batch.messages) {
      if (!isRunning() || isStale()) break
      const record: SourceRecord = { offset: m.offset, key: m.key, value: m.value, headers: (m.headers ?? {}) as SourceRecord['headers'], timestamp: m.timestamp }
      proc.handle(record)
      resolveOffset(m.offset)
      if (proc.pendingComplete || (proc.pendingLast === null && proc.pendingRecords >= this.options.flushMaxRecords)) {
        // A failed flush dropped this partition's state: stop here; the next batch re-initialises it.
        if (!(await this.flush(entry))) return
      }
    }
    this.options.metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n)))
    if (Date.now() - entry.lastFlush >= this.options.flushIntervalMs) await this.flush(entry)
    await heartbeat()
    this.heartbeat = undefined
  }

  private async initPartition(topic: string, partition: number, firstOffset: string | undefined) {
    const type = this.topics.get(topic)
    if (!type) throw new EngineError(EngineErrorCode.UNKNOWN_TOPIC, `no pipeline reads ${topic}`)
    this.options.log.trace({ topic, partition, firstOffset }, 'initialising partition state')
    const [offsets] = await this.admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] })
    const p = offsets?.partitions.find((x) => x.partition === partition)
    const committed = p && p.offset !== '-1' ? BigInt(p.offset) : null
    const checkpoint = decodeCheckpoint(p?.metadata)
    if (checkpoint?.set && checkpoint.set !== this.setId) {
      const err = new EngineError(
        EngineErrorCode.PIPELINE_SET_CHANGED,
        `consumer group ${this.options.groupId} was written by another set of pipelines; run this set (${this.options.pipelines.map((x) => x.name).join(', ')}) under a new group (--group) and backfill with \`streamcube rebuild\``,
      )
      this.fatal?.(err)
      throw err
    }
    const proc = new PartitionProcessor(topic, partition, type, this.options.codecs[type], this.options.pipelines, this.options.policy, checkpoint, committed)
    const start = PartitionProcessor.startOffset(checkpoint, committed)
    if (start !== null && firstOffset !== undefined && BigInt(firstOffset) !== start) {
      this.options.log.info({ topic, partition, from: start.toString(), committed: committed?.toString(), pending: checkpoint?.pending }, 'seeking to rebuild state / replay the pending range')
      this.consumer.seek({ topic, partition, offset: start.toString() })
      // Keep the processor: the seek lands the next batch exactly at `start`.
      this.processors.set(`${topic}:${partition}`, { proc, lastFlush: Date.now() })
      return null
    }
    this.options.log.trace({ topic, partition, committed: committed?.toString(), checkpoint }, 'partition state initialised')
    if (checkpoint?.pending) this.options.log.info({ topic, partition, first: committed?.toString(), last: checkpoint.pending }, 'replaying a pending flush range')
    return { proc, lastFlush: Date.now() }
  }

  /**
   * Commits one offset with metadata, or throws. kafkajs's commitOffsets returns quietly without
   * committing when its runner is not running (during a restart or shutdown) and retries through a
   * rebalance while we hold the partition: either would let a flush insert rows whose range was
   * never put on record, and a replay with other range boundaries would count them again. So a
   * commit during a rebalance fails at once, and a commit counts only when kafkajs reports it.
   */
  private async commit(topic: string, partition: number, offset: string, metadata: string): Promise<void> {
    if (this.rebalancing || this.stoppedConsuming) throw new EngineError(EngineErrorCode.COMMIT_REFUSED, `not committing ${topic}/${partition}@${offset}: the group is rebalancing`)
    let confirmed = false
    const off = this.consumer.on(this.consumer.events.COMMIT_OFFSETS, (e) => {
      for (const t of e.payload.topics) {
        if (t.topic !== topic) continue
        for (const p of t.partitions as unknown as { partition: number; offset: string }[]) if (p.partition === partition && String(p.offset) === offset) confirmed = true
      }
    })
    try {
      await this.consumer.commitOffsets([{ topic, partition, offset, metadata }])
    } finally {
      off()
    }
    if (!confirmed) throw new EngineError(EngineErrorCode.COMMIT_REFUSED, `kafkajs did not commit ${topic}/${partition}@${offset} (consumer not running)`)
  }

  private async flushDue(): Promise<void> {
    if (this.rebalancing) return
    const now = Date.now()
    for (const entry of this.processors.values()) {
      if (entry.proc.pendingLast !== null && !entry.proc.pendingComplete) continue
      if (entry.proc.pendingRecords > 0 && now - entry.lastFlush >= this.options.flushIntervalMs) await this.flush(entry)
    }
  }

  private async flush(entry: { proc: PartitionProcessor; lastFlush: number }): Promise<boolean> {
    if (this.crashed) return false
    const plan = entry.proc.takeFlush()
    entry.lastFlush = Date.now()
    if (!plan) return true
    try {
      await this.executor.execute(plan, (topic, partition, offset, metadata) => this.commit(topic, partition, offset, metadata))
      this.options.metrics.paused.set(0)
      return true
    } catch (err) {
      // The commit was refused (a rebalance took the partition) or the sink gave up: drop the
      // partition's state; whoever owns it next replays from the committed offset and metadata.
      this.processors.delete(`${plan.topic}:${plan.partition}`)
      this.options.log.warn({ err: (err as Error).message, topic: plan.topic, partition: plan.partition, first: plan.first, last: plan.last }, 'flush failed; partition state dropped for replay')
      if (err instanceof SinkError) this.fatal?.(err)
      return false
    }
  }
}

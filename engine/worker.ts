import type { EachBatchPayload, Kafka, Producer } from 'kafkajs'
import type { Logger } from 'pino'
import { createForwarderProducer, createKafkaForwarder, type ClickHouse, type RetryPolicy } from '../sinks/index.js'
import { ensureTopics } from '../sinks/kafka/topics.js'
import { EngineError, EngineErrorCode } from './errors.js'
import { FlushExecutor, type MemberCommit } from './flush.js'
import type { FlushPolicy } from './flush-policy.js'
import { GroupMembership } from './group.js'
import { KafkajsTransport } from './kafkajs-source.js'
import type { RecordTransport } from './transport.js'
import type { EngineMetrics } from './metrics.js'
import type { EventTimePolicy } from './partition-state.js'
import { PartitionTable } from './partitions.js'
import type { PipelineDefinition } from '../pipelines/pipeline.js'
import { pipelineSetId } from './processor.js'
import { readRanges } from './range-reader.js'
import type { RecordFetcher } from './rdkafka-fetcher.js'
import { RdkafkaTransport } from './rdkafka-source.js'
import { PartitionRecovery, type TopicSource } from './recovery.js'

export interface WorkerOptions {
  readonly kafka: Kafka
  readonly groupId: string
  /** The prefix of the dead-letter and late-event topics. */
  readonly topicPrefix: string
  readonly pipelines: readonly PipelineDefinition[]
  /** The topics the pipelines read, each with its stream and codec (sourcesFor). */
  readonly sources: ReadonlyMap<string, TopicSource>
  readonly policy: EventTimePolicy
  /** When partitions flush: interval, catch-up interval, size and the worker-wide buffer budget. */
  readonly flush: FlushPolicy
  readonly ch: ClickHouse
  /** More connections to the same database for concurrent table inserts within a flush. */
  readonly extraConnections?: readonly ClickHouse[]
  readonly log: Logger
  readonly metrics: EngineMetrics
  readonly retry?: RetryPolicy
  /** How long the group waits for a silent member before reassigning its partitions. */
  readonly sessionTimeoutMs?: number
  /** The most one kafkajs fetch returns, all partitions together (GroupOptions). */
  readonly fetchMaxBytes?: number
  /** How long a graceful stop may take before the worker gives up on it (default 20 s). */
  readonly stopTimeoutMs?: number
  /** A partition without records this long no longer holds windows open (published watermarks). */
  readonly idleTimeoutMs?: number
  /** How often the partitions' watermarks are published to streamcube_watermarks. */
  readonly watermarkPublishMs?: number
  /**
   * Default true: a partition goes on decoding its next range while its last one is inserted and
   * committed. false: each flush completes before the partition takes more records.
   */
  readonly overlapFlushes?: boolean
  /** Test hook passed to the flush executor (fault injection). */
  readonly beforeInsert?: (table: string, token: string) => void | Promise<void>
  /** Test hook before each commit to the offset log (fault injection: a throw fails the commit). */
  readonly beforeCommit?: (commits: readonly MemberCommit[]) => void | Promise<void>
  /** The data path, when it is not kafkajs's own fetch (KAFKA_CLIENT=rdkafka): see RdkafkaTransport. */
  readonly fetcher?: RecordFetcher
  /** Records per fetch from the fetcher. */
  readonly fetchMax?: number
}

/** The dead-letter and late-event topics under a prefix. */
export function sideTopics(prefix: string) {
  return { deadLetter: `${prefix}dead-letter`, late: `${prefix}late` }
}

/**
 * A stream worker: one consumer group for a fixed set of pipelines. It wires the parts and owns
 * their lifecycle (run, stop, crash, the timers):
 * - GroupMembership: the kafkajs consumer group and the offset log (commits with metadata);
 * - a transport (KafkajsTransport or RdkafkaTransport) that moves records into the partitions;
 * - PartitionTable: each partition's processor and when it flushes;
 * - FlushExecutor and PartitionRecovery: the exactly-once protocol (write, commit; recover).
 */
export class KafkaWorker {
  private readonly group: GroupMembership
  private readonly producer: Producer
  private readonly partitions: PartitionTable
  private readonly records: RecordTransport
  private readonly executor: FlushExecutor
  private readonly topics: ReadonlyMap<string, TopicSource>
  private readonly workerId = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  private timer: NodeJS.Timeout | undefined
  private publishTimer: NodeJS.Timeout | undefined
  private fatal: ((err: Error) => void) | undefined
  private finished: (() => void) | undefined
  /** Rejects run() when its stop failed. */
  private abandoned: ((err: Error) => void) | undefined
  private stopped = false
  private stopping: Promise<void> | undefined

  constructor(private readonly options: WorkerOptions) {
    const { kafka, groupId, log } = options
    const setId = pipelineSetId(options.pipelines)
    this.topics = options.sources
    this.group = new GroupMembership({ kafka, groupId, topics: [...this.topics.keys()], sessionTimeoutMs: options.sessionTimeoutMs, fetchMaxBytes: options.fetchMaxBytes, log })
    this.producer = createForwarderProducer(kafka)
    const heartbeat = () => this.group.heartbeat?.() ?? Promise.resolve()
    this.executor = new FlushExecutor({
      ch: options.ch,
      extraConnections: options.extraConnections,
      forwarder: createKafkaForwarder(this.producer, sideTopics(options.topicPrefix)),
      pipelineSet: setId,
      retry: options.retry,
      log: log.child({ component: 'flush' }),
      metrics: options.metrics,
      heartbeat: async () => {
        options.metrics.paused.set(1)
        await heartbeat().catch(() => {})
      },
      beforeInsert: options.beforeInsert,
    })
    let replays = 0
    const fatal = (err: Error) => this.fatal?.(err)
    const recovery = new PartitionRecovery({
      groupId,
      setId,
      pipelines: options.pipelines,
      sources: this.topics,
      policy: options.policy,
      offsets: this.group,
      executor: this.executor,
      // A reader in a consumer group of its own, which never commits.
      replay: (ranges, onRecord) => readRanges(kafka, ranges, onRecord, { groupId: `${groupId}.replay.${this.workerId}.${++replays}`, heartbeat }),
      log,
      metrics: options.metrics,
      fatal,
    })
    const commit = async (commits: readonly MemberCommit[]) => {
      await options.beforeCommit?.(commits)
      await this.group.commit(commits)
    }
    this.partitions = new PartitionTable({ executor: this.executor, recovery, flush: options.flush, overlapFlushes: options.overlapFlushes !== false, setId, commit, log, metrics: options.metrics, fatal, readAgain: (topic, partition, offset) => this.records.readAgain(topic, partition, offset) })
    const ctx = { group: this.group, partitions: this.partitions, log, stopped: () => this.stopped, fatal, sinkReady: () => this.executor.sinkReady() }
    this.records = options.fetcher ? new RdkafkaTransport(ctx, options.fetcher, options.fetchMax) : new KafkajsTransport(ctx)
  }

  /** Connects, joins the group and consumes until stop() (then resolves); rejects on a fatal error. */
  async run(): Promise<void> {
    const { log } = this.options
    if (this.stopped) return
    const [admin] = await Promise.all([this.group.connectAdmin(), this.producer.connect()])
    await ensureTopics(admin, [...this.topics.keys()], 6)
    const side = sideTopics(this.options.topicPrefix)
    await ensureTopics(admin, [side.deadLetter, side.late], 1)
    await this.records.connect()
    const done = new Promise<void>((resolve, reject) => {
      this.fatal = (err: Error) => {
        // Said loudly: a worker that stops consuming while its group membership lives on would
        // hold its partitions with nobody reading them.
        log.error({ err }, 'worker failed')
        reject(err)
      }
      this.finished = resolve
      this.abandoned = reject
    })
    await this.group.join({
      onRebalancing: () => {
        this.partitions.dropAll()
        this.records.onRebalancing()
      },
      onJoin: (generation) => {
        this.partitions.dropAll()
        this.records.onJoin(generation)
      },
      onBatch: (payload: EachBatchPayload) => this.records.onBatch(payload),
      fatal: (err) => this.fatal?.(err),
    })
    if (this.stopped) {
      // Stopped while joining: the stop may have left before this join; leave again, start nothing.
      await this.group.leave().catch(() => {})
      return
    }
    // The tick that finds timed flushes due: its period is how late past its interval a flush
    // may start (it is cheap: a look at each partition's counters under the lock).
    const tick = Math.max(10, Math.min(100, this.options.flush.intervalMs / 4))
    this.timer = setInterval(() => void this.partitions.locked(() => (this.group.rebalancing ? Promise.resolve() : this.partitions.flushDue())).catch((err: Error) => this.fatal?.(err)), tick)
    this.publishTimer = setInterval(() => void this.publishWatermarks().catch((err: Error) => log.warn({ err: err.message }, 'publishing watermarks failed; retried at the next interval')), this.options.watermarkPublishMs ?? 2_000)
    this.records.start()
    log.info({ pipelines: this.options.pipelines.map((p) => p.name), topics: [...this.topics.keys()], transport: this.records.name }, 'worker running')
    await done
  }

  /**
   * Graceful: flushes every partition, commits, and leaves the group, within STOP_TIMEOUT_MS.
   * From its first moment the consumer is never restarted and never rejoins (a process holding
   * partitions after its stop would block its group). A stop that cannot finish (the broker gone,
   * ClickHouse hanging) rejects with ENGINE_STOP_TIMEOUT, or with what failed, after dropping
   * every partition's state: what it did not commit, the next owner replays.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopWithin(this.options.stopTimeoutMs ?? 20_000)
    return this.stopping
  }

  private async stopWithin(timeoutMs: number): Promise<void> {
    const { log } = this.options
    this.stopped = true
    this.group.beginStop()
    this.clearTimers()
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new EngineError(EngineErrorCode.STOP_TIMEOUT, `the stop did not finish within ${timeoutMs} ms (STOP_TIMEOUT_MS); what it did not commit is replayed by the partitions' next owner`)), timeoutMs)
    })
    try {
      await Promise.race([this.stopGracefully(), bound])
      log.info('worker stopped')
      this.finished?.()
    } catch (err) {
      this.partitions.crash()
      log.error({ err }, 'stop failed: partition state dropped for replay')
      // Leave and disconnect as far as the broker lets us, without waiting on it for long.
      await Promise.race([Promise.allSettled([this.group.leave(), this.producer.disconnect(), this.records.disconnect()]), new Promise((r) => setTimeout(r, 2_000).unref())])
      this.abandoned?.(err as Error)
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  private async stopGracefully(): Promise<void> {
    this.group.pauseAll()
    await this.records.drain()
    await this.partitions.locked(() => this.partitions.drain())
    await this.group.leave()
    await Promise.all([this.producer.disconnect(), this.records.disconnect()])
  }

  /** Which client reads the records. */
  get transport(): 'kafkajs' | 'rdkafka' {
    return this.records.name
  }

  /** What the worker holds in memory now (for metrics and for tests of bounded memory). */
  stats() {
    return this.partitions.stats()
  }

  /**
   * For tests of abrupt failure: stops processing and drops all state at once, without flushing,
   * committing or leaving the group (the caller also cuts the broker connections, so the group
   * only notices when the session times out — like a process killed with SIGKILL).
   */
  crash(): void {
    this.stopped = true
    this.clearTimers()
    this.partitions.crash()
    void this.records.disconnect()
  }

  /**
   * Each assigned partition's watermark, for readers that need "windows complete up to": the
   * event-time watermark, or for a partition idle longer than IDLE_TIMEOUT_MS (or never heard
   * from since the join), max(watermark, now − IDLE_TIMEOUT_MS). Only published, never fed back
   * into classification (a replay must classify as the first run did).
   */
  watermarks(now = Date.now()): { topic: string; partition: number; watermark: number; eventWatermark: number | null; idle: boolean }[] {
    const idleMs = this.options.idleTimeoutMs ?? 30_000
    return this.group.assignment.map(({ topic, partition }) => {
      const entry = this.partitions.get(`${topic}:${partition}`)
      const event = entry && Number.isFinite(entry.proc.watermark) ? entry.proc.watermark : null
      const idle = now - (entry?.lastRecordAt ?? this.group.joinedAt) >= idleMs
      const watermark = idle ? Math.max(event ?? Number.NEGATIVE_INFINITY, now - idleMs) : (event ?? Number.NEGATIVE_INFINITY)
      return { topic, partition, watermark, eventWatermark: event, idle }
    })
  }

  private clearTimers(): void {
    if (this.timer) clearInterval(this.timer)
    if (this.publishTimer) clearInterval(this.publishTimer)
  }

  private async publishWatermarks(): Promise<void> {
    if (this.stopped || this.group.rebalancing) return
    const now = Date.now()
    const pipelines = this.options.pipelines.map((p) => p.name)
    // A partition with no watermark yet (nothing read, not idle yet) holds the group back: 0.
    const rows = this.watermarks(now).map((w) => ({ ...w, watermark: Number.isFinite(w.watermark) ? w.watermark : 0 }))
    for (const w of rows) this.options.metrics.watermark.set({ topic: w.topic, partition: String(w.partition) }, w.watermark / 1000)
    await this.executor.insertPlain(
      'streamcube_watermarks',
      rows.map((w) => ({ group_id: this.options.groupId, topic: w.topic, partition: w.partition, watermark: w.watermark, event_watermark: w.eventWatermark, idle: w.idle ? 1 : 0, worker: this.workerId, updated_at: now, pipelines })),
    )
  }
}

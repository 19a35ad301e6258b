import type { Admin, Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs'
import type { Logger } from 'pino'
import { EventTypes, type Codec, type EventType } from '../../schemas/index.js'
import { createForwarderProducer, createKafkaForwarder, SinkError, type ClickHouse, type RetryPolicy } from '../../sinks/index.js'
import { ensureTopics } from '../kafka/topics.js'
import { chunkByMetadata, memberOf } from './checkpoint.js'
import { EngineError, EngineErrorCode } from './errors.js'
import { FlushExecutor, type MemberCommit } from './flush.js'
import { groupsOf, overBudget, timedFlushDue, timedFlushGroups, type FlushPolicy } from './flush-policy.js'
import type { EngineMetrics } from './metrics.js'
import type { EventTimePolicy } from './partition-state.js'
import type { PipelineDefinition } from './pipeline.js'
import { pipelineSetId, type FlushPlan, type PartitionProcessor, type SourceRecord } from './processor.js'
import { readRanges } from './range-reader.js'
import { PartitionRecovery, type CommittedOffset } from './recovery.js'
import type { FetchedRecord, RecordFetcher } from './rdkafka-fetcher.js'

export interface WorkerOptions {
  readonly kafka: Kafka
  readonly groupId: string
  readonly topicPrefix: string
  readonly pipelines: readonly PipelineDefinition[]
  readonly codecs: Readonly<Record<EventType, Codec>>
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
  /**
   * The data path, when it is not kafkajs's own fetch (KAFKA_CLIENT=rdkafka: node-rdkafka). kafkajs
   * then keeps the group membership and the offset commits — the exactly-once protocol's
   * checkpoint lives in commit metadata fenced by the group generation, and node-rdkafka cannot
   * commit metadata — with every subscribed topic paused, and the fetcher reads the assigned
   * partitions from the positions this worker computes.
   */
  readonly fetcher?: RecordFetcher
  /** Records per fetch from the fetcher. */
  readonly fetchMax?: number
}

/**
 * A partition's processor and its flush chain. At most one flush per partition is in flight: it
 * runs while the processor keeps taking records (so the engine decodes while ClickHouse inserts),
 * and the next flush of the partition starts only after it has committed — offsets are committed
 * in order, and a failed flush kills the entry before another range can be put on record.
 */
interface PartitionEntry {
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
  private readonly processors = new Map<string, PartitionEntry>()
  /** Flushes still running for entries that a rebalance dropped; a new entry waits for them. */
  private readonly retiring = new Map<string, Promise<unknown>>()
  /** Commits awaiting kafkajs's COMMIT_OFFSETS report, by topic:partition:offset. */
  private readonly confirmations = new Map<string, boolean>()
  private readonly executor: FlushExecutor
  private readonly recovery: PartitionRecovery
  private readonly setId: string
  private readonly topics: Map<string, EventType>
  private lock: Promise<unknown> = Promise.resolve()
  private crashed = false
  /** Set from the moment the group starts rebalancing until this member has joined again. */
  private rebalancing = false
  private timer: NodeJS.Timeout | undefined
  private publishTimer: NodeJS.Timeout | undefined
  /** This member's partitions since it last joined, and when it joined. */
  private assignment: { topic: string; partition: number }[] = []
  private joinedAt = Date.now()
  private readonly workerId = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  private heartbeat: (() => Promise<void>) | undefined
  /** The generation the fetcher was last assigned for. */
  private fetcherGeneration = -1
  private fatal: ((err: Error) => void) | undefined
  private finished: (() => void) | undefined
  private stopped = false
  /** After disconnect starts, commits are no longer possible. */
  private stoppedConsuming = false
  /** Bumped by every assign, unassign and seek of the fetcher: a fetch that spans one is re-read. */
  private fetchEpoch = 0
  /** Bumped by every join: an assignment computed for an older join is not applied. */
  private generation = 0
  private fetchLoop: Promise<void> | undefined

  constructor(private readonly options: WorkerOptions) {
    const { kafka, groupId } = options
    this.setId = pipelineSetId(options.pipelines)
    const types = new Set(options.pipelines.flatMap((p) => p.sources))
    this.topics = new Map([...types].map((t) => [`${options.topicPrefix}${EventTypes[t].topic}`, t]))
    this.consumer = kafka.consumer({ groupId, sessionTimeout: options.sessionTimeoutMs ?? 30_000, heartbeatInterval: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)), rebalanceTimeout: 60_000, maxBytesPerPartition: 4 * 1024 * 1024, retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000 } })
    this.admin = kafka.admin()
    this.producer = createForwarderProducer(kafka)
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
    let replays = 0
    this.recovery = new PartitionRecovery({
      groupId,
      setId: this.setId,
      pipelines: options.pipelines,
      topics: this.topics,
      codecs: options.codecs,
      policy: options.policy,
      offsets: { committed: (topic) => this.committedOffsets(topic), commit: (commits) => this.commitMany([], commits) },
      executor: this.executor,
      // A reader in a consumer group of its own, which never commits.
      replay: (ranges, onRecord) => readRanges(kafka, ranges, onRecord, { groupId: `${groupId}.replay.${this.workerId}.${++replays}`, heartbeat: () => this.heartbeat?.() ?? Promise.resolve() }),
      log: options.log,
      metrics: options.metrics,
      fatal: (err) => this.fatal?.(err),
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
    const fetcher = this.options.fetcher
    if (fetcher) await fetcher.connect()
    const { GROUP_JOIN, REBALANCING, CRASH } = this.consumer.events
    this.consumer.on(REBALANCING, () => {
      // Synchronously, not under the lock: a flush holding the lock must see it and stop committing.
      this.rebalancing = true
      log.info({ group: this.options.groupId }, 'rebalancing: dropping unflushed partition state (replayed from the committed offsets)')
      this.dropAll()
      if (fetcher) {
        fetcher.unassign()
        this.fetchEpoch++
      }
    })
    this.consumer.on(GROUP_JOIN, (e) => {
      this.dropAll()
      this.rebalancing = false
      this.joinedAt = Date.now()
      this.assignment = Object.entries(e.payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })))
      log.info({ group: this.options.groupId, assignment: e.payload.memberAssignment }, 'joined group')
      const generation = ++this.generation
      // With a fetcher, kafkajs fetches nothing (every topic paused, from the first join on, before
      // its fetch loop starts): it only keeps the membership and commits.
      if (fetcher) this.consumer.pause([...this.topics.keys()].map((topic) => ({ topic })))
      if (fetcher) {
        // A fetch that started before this join belongs to the old assignment: its records must
        // not reach the new generation's state (the fetcher is reassigned under the lock below,
        // and until then a record of a newly assigned partition would seek a partition the
        // fetcher does not hold yet — librdkafka refuses, and the worker would die).
        fetcher.unassign()
        this.fetchEpoch++
        void this.locked(() => this.assignFetcher(fetcher, generation)).catch((err: Error) => this.fatal?.(err))
      }
    })
    this.consumer.on(this.consumer.events.COMMIT_OFFSETS, (e) => {
      for (const t of e.payload.topics) {
        for (const p of t.partitions as unknown as { partition: number; offset: string }[]) {
          const key = `${t.topic}:${p.partition}:${String(p.offset)}`
          if (this.confirmations.has(key)) this.confirmations.set(key, true)
        }
      }
    })
    this.consumer.on(this.consumer.events.FETCH, (e) => log.trace({ batches: e.payload.numberOfBatches, ms: e.payload.duration }, 'fetched'))
    this.consumer.on(CRASH, (e) => {
      log.error({ err: e.payload.error.message, restart: e.payload.restart }, 'consumer crashed')
      // kafkajs restarts after a retriable crash (and rejoins: GROUP_JOIN rebuilds the state);
      // after any other, nothing would ever consume again.
      if (!e.payload.restart) this.fatal?.(e.payload.error)
    })
    await this.consumer.subscribe({ topics: [...this.topics.keys()], fromBeginning: true })
    const done = new Promise<void>((resolve, reject) => {
      this.fatal = (err: Error) => {
        // Said loudly: a worker that stops consuming while its group membership lives on would
        // hold its partitions with nobody reading them.
        log.error({ err, group: this.options.groupId }, 'worker failed')
        reject(err)
      }
      this.finished = resolve
    })
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => {
        if (fetcher) {
          // Not expected (the topics are paused at every join); nothing is resolved or committed here.
          this.consumer.pause([{ topic: payload.batch.topic }])
          return Promise.resolve()
        }
        log.trace({ topic: payload.batch.topic, partition: payload.batch.partition }, 'batch arrived')
        return this.locked(() => this.onBatch(payload))
      },
    })
    // The tick that finds timed flushes due: its period is how late past its interval a flush
    // may start (it is cheap: a look at each partition's counters under the lock).
    this.timer = setInterval(() => void this.locked(() => this.flushDue()).catch((err: Error) => this.fatal?.(err)), Math.max(10, Math.min(100, this.options.flush.intervalMs / 4)))
    this.publishTimer = setInterval(() => void this.publishWatermarks().catch((err: Error) => log.warn({ err: err.message }, 'publishing watermarks failed; retried at the next interval')), this.options.watermarkPublishMs ?? 2_000)
    if (fetcher) this.fetchLoop = this.runFetcher(fetcher).catch((err: Error) => this.fatal?.(err))
    log.info({ group: this.options.groupId, pipelines: this.options.pipelines.map((p) => p.name), topics: [...this.topics.keys()], transport: fetcher ? 'rdkafka' : 'kafkajs' }, 'worker running')
    await done
  }

  /** Graceful: flushes every partition, commits, and leaves the group. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    if (this.publishTimer) clearInterval(this.publishTimer)
    await this.consumer.pause([...this.topics.keys()].map((topic) => ({ topic })))
    await this.fetchLoop
    await this.locked(async () => {
      // The flushes in flight commit first; then what every partition buffered goes out in groups
      // (one insert per table, as timed flushes do), a pending range that was replayed alone.
      await Promise.all([...this.processors.values()].map((e) => e.inflight))
      const ready = [...this.processors.values()].filter((e) => !e.dead && e.proc.mayFlush && e.proc.pendingRecords > 0)
      for (const entry of ready) if (entry.proc.pendingComplete) await this.flush(entry)
      for (const group of groupsOf(ready.filter((e) => !e.proc.pendingComplete), this.options.flush)) await this.flushGroup(group, true)
      await Promise.all([...this.processors.values()].map((e) => e.inflight))
    })
    this.stoppedConsuming = true
    await this.consumer.disconnect()
    await Promise.all([this.producer.disconnect(), this.admin.disconnect(), this.options.fetcher?.disconnect()])
    this.options.log.info({ group: this.options.groupId }, 'worker stopped')
    this.finished?.()
  }

  /** Which client reads the records. */
  get transport(): 'kafkajs' | 'rdkafka' {
    return this.options.fetcher ? 'rdkafka' : 'kafkajs'
  }

  /** What the worker holds in memory now (for metrics and for tests of bounded memory). */
  stats(): { partitions: number; bufferedRecords: number; bufferedBytes: number; bufferedRows: number; rememberedIds: number } {
    let bufferedRecords = 0
    let bufferedBytes = 0
    let bufferedRows = 0
    let rememberedIds = 0
    for (const { proc } of this.processors.values()) {
      bufferedRecords += proc.pendingRecords
      bufferedBytes += proc.pendingBytes
      bufferedRows += proc.bufferedRows
      rememberedIds += proc.rememberedIds
    }
    return { partitions: this.processors.size, bufferedRecords, bufferedBytes, bufferedRows, rememberedIds }
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
    if (this.publishTimer) clearInterval(this.publishTimer)
    this.dropAll()
    void this.options.fetcher?.disconnect()
  }

  /**
   * Each assigned partition's watermark, for readers that need "windows complete up to": the
   * event-time watermark, or for a partition idle longer than IDLE_TIMEOUT_MS (or never heard
   * from since the join), max(watermark, now − IDLE_TIMEOUT_MS). Only published, never fed back
   * into classification (a replay must classify as the first run did).
   */
  watermarks(now = Date.now()): { topic: string; partition: number; watermark: number; eventWatermark: number | null; idle: boolean }[] {
    const idleMs = this.options.idleTimeoutMs ?? 30_000
    return this.assignment.map(({ topic, partition }) => {
      const entry = this.processors.get(`${topic}:${partition}`)
      const event = entry && Number.isFinite(entry.proc.watermark) ? entry.proc.watermark : null
      const idle = now - (entry?.lastRecordAt ?? this.joinedAt) >= idleMs
      const watermark = idle ? Math.max(event ?? Number.NEGATIVE_INFINITY, now - idleMs) : (event ?? Number.NEGATIVE_INFINITY)
      return { topic, partition, watermark, eventWatermark: event, idle }
    })
  }

  private async publishWatermarks(): Promise<void> {
    if (this.stopped || this.rebalancing) return
    const now = Date.now()
    // A partition with no watermark yet (nothing read, not idle yet) holds the group back: 0.
    const rows = this.watermarks(now).map((w) => ({ ...w, watermark: Number.isFinite(w.watermark) ? w.watermark : 0 }))
    for (const w of rows) this.options.metrics.watermark.set({ topic: w.topic, partition: String(w.partition) }, w.watermark / 1000)
    await this.executor.insertPlain(
      'streamcube_watermarks',
      rows.map((w) => ({ group_id: this.options.groupId, topic: w.topic, partition: w.partition, watermark: w.watermark, event_watermark: w.eventWatermark, idle: w.idle ? 1 : 0, worker: this.workerId, updated_at: now })),
    )
  }

  /** Drops every partition's state at once; their in-flight flushes can no longer commit. */
  private dropAll(): void {
    for (const entry of this.processors.values()) {
      entry.dead = true
      if (entry.inflight) {
        const done = entry.inflight.finally(() => {
          if (this.retiring.get(entry.key) === done) this.retiring.delete(entry.key)
        })
        this.retiring.set(entry.key, done)
      }
    }
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
    // Offsets are resolved once, at whatever ends the loop (kafkajs then fetches after the last
    // record taken): per record it cost kafkajs a Long parse and a map lookup each.
    let taken: string | undefined
    try {
      for (const m of batch.messages) {
        if (!isRunning() || isStale() || entry.dead) break
        taken = m.offset
        if (!this.take(entry, { offset: m.offset, key: m.key, value: m.value, headers: (m.headers ?? {}) as SourceRecord['headers'], timestamp: m.timestamp })) continue
        // A flush is due (size or a replayed pending range's end). Starting it waits for the
        // partition's previous one (backpressure: at most one range in flight and one buffering).
        // A failed flush killed the entry: stop here; the next batch re-initialises the partition
        // from its committed offset.
        if (!(await this.flush(entry, this.options.overlapFlushes === false))) return
      }
    } finally {
      if (taken !== undefined) resolveOffset(taken)
    }
    await this.afterRecords(entry, batch.topic, batch.partition, batch.messages.length, BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n)
    await heartbeat()
    this.heartbeat = undefined
  }

  /** Feeds one record to the partition (synchronous: no promise per record); true when a flush is due. */
  private take(entry: PartitionEntry, record: SourceRecord): boolean {
    const { proc } = entry
    proc.handle(record)
    return proc.pendingComplete || (proc.mayFlush && proc.pendingRecords >= this.options.flush.maxRecords)
  }

  /** After a batch of a partition: idleness, lag, the timed flush and the worker's buffer budget. */
  private async afterRecords(entry: PartitionEntry, topic: string, partition: number, taken: number, lag: bigint): Promise<void> {
    // Idleness is judged per batch: one clock read per batch, not per record.
    if (taken > 0) entry.lastRecordAt = Date.now()
    entry.lag = Math.max(0, Number(lag))
    this.options.metrics.lag.set({ topic, partition: String(partition) }, entry.lag)
    const serial = this.options.overlapFlushes === false
    // With group commits the timer's tick flushes due partitions together (flushDue).
    if (this.options.flush.groupMax <= 1 && !entry.dead && !entry.inflight && entry.proc.mayFlush && timedFlushDue(this.candidate(entry), Date.now(), this.options.flush)) await this.flush(entry, serial)
    // The worker-wide budget: over it, the partitions holding the most records flush (each waits
    // for its own previous flush first, which is the backpressure on the fetch loop).
    for (const c of overBudget(this.flushable(), this.options.flush)) await this.flush(c.entry, serial)
  }

  /** Each partition's committed offset and metadata for one topic ('-1': none). */
  private async committedOffsets(topic: string): Promise<Map<number, CommittedOffset>> {
    const [offsets] = await this.admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] })
    return new Map((offsets?.partitions ?? []).map((p) => [p.partition, { offset: p.offset, metadata: p.metadata }]))
  }

  /**
   * Opens the partition from the offset log (PartitionRecovery: checkpoint, pending range or
   * group), after any flush of its dropped previous entry has settled, so the committed offset
   * read is final.
   */
  private async openPartition(topic: string, partition: number, known?: Map<number, CommittedOffset>) {
    this.options.log.trace({ topic, partition }, 'initialising partition state')
    await this.retiring.get(`${topic}:${partition}`)
    const opened = await this.recovery.open(topic, partition, known)
    if (!opened) return null
    return { entry: newEntry(`${topic}:${partition}`, opened.proc, opened.start), ...opened }
  }

  private async initPartition(topic: string, partition: number, firstOffset: string | undefined) {
    const opened = await this.openPartition(topic, partition)
    if (!opened) return null
    const { entry, start, committed, checkpoint } = opened
    if (start !== null && firstOffset !== undefined && BigInt(firstOffset) !== start) {
      this.options.log.info({ topic, partition, from: start.toString(), committed: committed?.toString(), pending: checkpoint?.pending }, 'seeking to rebuild state / replay the pending range')
      this.consumer.seek({ topic, partition, offset: start.toString() })
      // Keep the processor: the seek lands the next batch exactly at `start`.
      this.processors.set(entry.key, entry)
      return null
    }
    this.options.log.trace({ topic, partition, committed: committed?.toString(), checkpoint }, 'partition state initialised')
    return entry
  }

  /**
   * After a join, with a fetcher: opens every assigned partition (committed offset, checkpoint,
   * processor) and points the fetcher at where each must be read from.
   */
  private async assignFetcher(fetcher: RecordFetcher, generation: number): Promise<void> {
    const positions = []
    // One offsets request per topic, not per partition. Fetched after every retiring flush of the
    // dropped entries has settled, so the committed offsets read are final.
    await Promise.all(this.retiring.values())
    const committed = new Map<string, Map<number, CommittedOffset>>()
    for (const { topic, partition } of this.assignment) {
      if (generation !== this.generation || this.rebalancing || this.stopped) return
      let known = committed.get(topic)
      if (!known) committed.set(topic, (known = await this.committedOffsets(topic)))
      const opened = await this.openPartition(topic, partition, known)
      if (!opened) return // the group is rebalancing: the next join assigns again
      const { entry, start } = opened
      this.processors.set(entry.key, entry)
      positions.push({ topic, partition, offset: start })
    }
    if (generation !== this.generation || this.rebalancing || this.stopped) return
    fetcher.assign(positions)
    this.fetcherGeneration = generation
    this.fetchEpoch++
    this.options.log.info({ group: this.options.groupId, partitions: positions.map((p) => ({ ...p, offset: p.offset?.toString() ?? 'beginning' })) }, 'fetcher assigned')
  }

  /** With a fetcher: fetch, then hand each partition's records to its processor, until stop(). */
  private async runFetcher(fetcher: RecordFetcher): Promise<void> {
    const max = this.options.fetchMax ?? 10_000
    while (!this.stopped) {
      const epoch = this.fetchEpoch
      const records = await fetcher.fetch(max)
      if (records.length === 0) continue
      const byPartition = new Map<string, FetchedRecord[]>()
      for (const r of records) {
        const key = `${r.topic}:${r.partition}`
        const list = byPartition.get(key)
        if (list) list.push(r)
        else byPartition.set(key, [r])
      }
      await this.locked(async () => {
        if (this.stopped || this.rebalancing) return
        if (epoch !== this.fetchEpoch) {
          // The assignment or a position moved while this fetch ran: its records may come from
          // before the move. Drop them and read each live partition again from where it stands.
          for (const [key, list] of byPartition) {
            const { topic, partition } = list[0]!
            const entry = this.processors.get(key)
            if (entry && !entry.dead) await fetcher.seek({ topic, partition, offset: entry.next })
          }
          this.fetchEpoch++
          return
        }
        for (const [key, list] of byPartition) await this.onFetched(fetcher, key, list)
      })
    }
  }

  private async onFetched(fetcher: RecordFetcher, key: string, records: FetchedRecord[]): Promise<void> {
    const { topic, partition } = records[0]!
    const entry = this.processors.get(key)
    if (!entry) {
      // A failed flush dropped the partition's state: rebuild it from the committed offset, and
      // read from there (these records were fetched before the seek: not delivered again after it).
      if (!this.assignment.some((a) => a.topic === topic && a.partition === partition)) return
      // Only a fetcher assigned for this generation can seek the partition (librdkafka refuses a
      // seek on a partition it does not hold: "Erroneous state").
      if (this.fetcherGeneration !== this.generation) return
      const opened = await this.openPartition(topic, partition)
      if (!opened) return
      // Opening may have taken a while (a pending group is rebuilt by re-reading every member):
      // if the group moved on meanwhile, the fetcher no longer holds the partition.
      if (this.fetcherGeneration !== this.generation || this.rebalancing || this.stopped) return
      this.processors.set(key, opened.entry)
      await fetcher.seek({ topic, partition, offset: opened.start })
      this.fetchEpoch++
      return
    }
    let taken = 0
    for (const r of records) {
      if (this.stopped || entry.dead) break
      const offset = BigInt(r.offset)
      if (entry.next !== null && offset < entry.next) continue // a stale prefetch: already taken
      entry.next = offset + 1n
      taken++
      if (this.take(entry, r) && !(await this.flush(entry, this.options.overlapFlushes === false))) return
    }
    const high = fetcher.highWatermark(topic, partition)
    await this.afterRecords(entry, topic, partition, taken, high !== null && entry.next !== null ? high - entry.next : 0n)
  }

  /**
   * Commits one offset with metadata, or throws. kafkajs's commitOffsets returns quietly without
   * committing when its runner is not running (during a restart or shutdown) and retries through a
   * rebalance while we hold the partition: either would let a flush insert rows whose range was
   * never put on record, and a replay with other range boundaries would count them again. So a
   * commit during a rebalance fails at once, and a commit counts only when kafkajs reports it.
   */
  private async commit(entry: PartitionEntry, topic: string, partition: number, offset: string, metadata: string): Promise<void> {
    await this.commitMany([entry], [{ topic, partition, offset, metadata }])
  }

  /** Several partitions' commits in one request (a group flush's): all confirmed, or it throws. */
  private async commitMany(entries: readonly PartitionEntry[], commits: readonly MemberCommit[]): Promise<void> {
    const what = commits.map((c) => `${c.topic}/${c.partition}@${c.offset}`).join(', ')
    if (entries.some((e) => e.dead)) throw new EngineError(EngineErrorCode.COMMIT_REFUSED, `not committing ${what}: the partition's state was dropped`)
    if (this.rebalancing || this.stoppedConsuming) throw new EngineError(EngineErrorCode.COMMIT_REFUSED, `not committing ${what}: the group is rebalancing`)
    const keys = commits.map((c) => `${c.topic}:${c.partition}:${c.offset}`)
    for (const key of keys) this.confirmations.set(key, false)
    let confirmed = false
    try {
      await this.consumer.commitOffsets(commits.map((c) => ({ ...c })))
    } finally {
      confirmed = keys.every((key) => this.confirmations.get(key) === true)
      for (const key of keys) this.confirmations.delete(key)
    }
    if (!confirmed) throw new EngineError(EngineErrorCode.COMMIT_REFUSED, `kafkajs did not commit ${what} (consumer not running)`)
  }

  private async flushDue(): Promise<void> {
    if (this.rebalancing) return
    const serial = this.options.overlapFlushes === false
    // Partitions with a flush in flight wait for the next tick; a pending range being replayed
    // flushes alone, exactly as first planned (take()).
    const candidates = [...this.flushable()].filter((c) => !c.entry.inflight && !c.entry.proc.pendingComplete)
    for (const group of timedFlushGroups(candidates, Date.now(), this.options.flush)) await this.flushGroup(group.map((c) => c.entry), serial)
  }

  private candidate(entry: PartitionEntry) {
    return { entry, pending: entry.proc.pendingRecords, pendingBytes: entry.proc.pendingBytes, lag: entry.lag, lastFlush: entry.lastFlush }
  }

  /** The live partitions that may flush now (not replaying a pending range short of its end). */
  private *flushable() {
    for (const entry of this.processors.values()) if (!entry.dead && entry.proc.mayFlush) yield this.candidate(entry)
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
   * A timed flush of several partitions as one group (one insert per table), for entries without
   * a flush in flight. Plans are cut into groups whose commit metadata stays under the broker's
   * limit; a group of one is a plain flush.
   */
  private async flushGroup(entries: readonly PartitionEntry[], wait: boolean): Promise<void> {
    if (this.crashed) return
    const taken: { entry: PartitionEntry; plan: FlushPlan }[] = []
    const now = Date.now()
    for (const entry of entries) {
      if (entry.dead || entry.inflight) continue
      const plan = entry.proc.takeFlush()
      entry.lastFlush = now
      if (plan) taken.push({ entry, plan })
    }
    const runs = chunkByMetadata(taken, (t) => memberOf(t.plan), this.setId).map((chunk) => this.start(chunk.map((c) => c.entry), chunk.map((c) => c.plan), wait))
    await Promise.all(runs)
  }

  /**
   * Runs the flush of one plan, or of several as a group, as every member's `inflight`: with
   * `wait` it resolves when committed; without, as soon as it has started, so the partitions go
   * on decoding their next range while ClickHouse inserts this one (one range in flight, one
   * buffering). False if it failed.
   */
  private async start(entries: readonly PartitionEntry[], plans: readonly FlushPlan[], wait: boolean): Promise<boolean> {
    const execution =
      plans.length === 1
        ? this.executor.execute(plans[0]!, (topic, partition, offset, metadata) => this.commit(entries[0]!, topic, partition, offset, metadata))
        : this.executor.executeGroup(plans, (commits) => this.commitMany(entries, commits))
    const run = execution.then(
      () => {
        this.options.metrics.paused.set(0)
        return true
      },
      (err: unknown) => {
        // The commit was refused (a rebalance took a partition) or the sink gave up: drop the
        // partitions' state; whoever owns them next replays from the committed offset and metadata.
        for (const entry of entries) {
          entry.dead = true
          if (this.processors.get(entry.key) === entry) this.processors.delete(entry.key)
        }
        this.options.log.warn({ err: (err as Error).message, ranges: plans.map((p) => `${p.topic}/${p.partition}@${p.first}-${p.last}`) }, 'flush failed; partition state dropped for replay')
        if (err instanceof SinkError) this.fatal?.(err)
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

function newEntry(key: string, proc: PartitionProcessor, next: bigint | null): PartitionEntry {
  return { key, proc, lastFlush: Date.now(), lastRecordAt: Date.now(), lag: 0, next, inflight: null, dead: false }
}

import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs'
import type { Logger } from 'pino'
import { EngineError, EngineErrorCode } from './errors.js'
import type { MemberCommit } from './flush.js'
import type { CommittedOffset, OffsetLog } from './recovery.js'

export interface GroupOptions {
  readonly kafka: Kafka
  readonly groupId: string
  readonly topics: readonly string[]
  /** How long the group waits for a silent member before reassigning its partitions. */
  readonly sessionTimeoutMs?: number
  /**
   * The most one fetch returns, all partitions together (kafkajs's maxBytes; a partition may fill
   * it alone). kafkajs joins a response's socket chunks into one fresh buffer: 10 MiB responses
   * (its default) cost the JS thread ≈ 50 ms each in first touches of new memory on the
   * benchmark machine, 1 MiB ones a tenth of it per byte and a smaller peak (bench/README.md).
   */
  readonly fetchMaxBytes?: number
  readonly log: Logger
}

/** What the group tells the worker; called synchronously from kafkajs's events. */
export interface GroupEvents {
  /** The group started rebalancing: every partition's unflushed state must be dropped now. */
  onRebalancing(): void
  /** This member joined (again) with `assignment`; `generation` counts the joins. */
  onJoin(generation: number): void
  /** Each batch kafkajs fetched (the kafkajs transport's data path). */
  onBatch(payload: EachBatchPayload): Promise<void>
  /** Nothing will consume any more. */
  fatal(err: Error): void
}

/**
 * The worker's consumer-group membership on kafkajs, and its offset log: the exactly-once
 * protocol's checkpoints live in commit metadata fenced by the group generation (node-rdkafka
 * cannot commit metadata, so kafkajs keeps the membership for both transports).
 */
export class GroupMembership implements OffsetLog {
  readonly consumer: Consumer
  private readonly admin: Admin
  /** Commits awaiting kafkajs's COMMIT_OFFSETS report, by topic:partition:offset. */
  private readonly confirmations = new Map<string, boolean>()
  /** Set from the moment the group starts rebalancing until this member has joined again. */
  rebalancing = false
  /** After disconnect starts, commits are no longer possible. */
  private leaving = false
  /** Once a stop has begun, kafkajs may neither restart the consumer nor rejoin the group. */
  private stopping = false
  /** This member's partitions since it last joined, and when it joined. */
  assignment: { topic: string; partition: number }[] = []
  joinedAt = Date.now()
  /** Bumped by every join: work computed for an older join is not applied. */
  generation = 0
  /** The heartbeat of the batch being processed, if any (long flushes call it). */
  heartbeat: (() => Promise<void>) | undefined

  constructor(private readonly options: GroupOptions) {
    // kafkajs has no static membership: after a kill -9 the group gives the partitions to the
    // restarted worker only when the dead member's session expires, so the session timeout bounds
    // a restart (6 s, the broker's minimum: first commit ≈ 7.5 s after the kill, measured by
    // tests/integration/engine/restart.test.ts; 30 s took 31.6 s). The price: a worker silent for
    // longer (no heartbeat: a batch handler blocked that long) loses its partitions and replays.
    const session = options.sessionTimeoutMs ?? 6_000
    this.consumer = options.kafka.consumer({ groupId: options.groupId, sessionTimeout: session, heartbeatInterval: Math.min(3_000, Math.floor(session / 3)), rebalanceTimeout: 60_000, maxBytes: options.fetchMaxBytes ?? 1024 * 1024, maxBytesPerPartition: options.fetchMaxBytes ?? 1024 * 1024, retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000, restartOnFailure: () => Promise.resolve(!this.stopping) } })
    this.admin = options.kafka.admin()
  }

  get groupId(): string {
    return this.options.groupId
  }

  /** Whether this member's last join assigned it the partition. */
  holds(topic: string, partition: number): boolean {
    return this.assignment.some((a) => a.topic === topic && a.partition === partition)
  }

  async connectAdmin(): Promise<Admin> {
    await this.admin.connect()
    return this.admin
  }

  /** Joins the group and starts kafkajs's fetch loop; events go to `events` from then on. */
  async join(events: GroupEvents): Promise<void> {
    const { log, groupId } = this.options
    const { consumer } = this
    await consumer.connect()
    const { GROUP_JOIN, REBALANCING, CRASH, COMMIT_OFFSETS, FETCH } = consumer.events
    consumer.on(REBALANCING, () => {
      // Synchronously, not under the lock: a flush holding the lock must see it and stop committing.
      this.rebalancing = true
      log.info('rebalancing: dropping unflushed partition state (replayed from the committed offsets)')
      events.onRebalancing()
    })
    consumer.on(GROUP_JOIN, (e) => {
      if (this.stopping) {
        // A restart that was already under way when the stop began: leave again at once.
        log.warn('joined the group during a stop; leaving again')
        void consumer.disconnect().catch(() => {})
        return
      }
      this.rebalancing = false
      this.joinedAt = Date.now()
      this.assignment = Object.entries(e.payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })))
      log.info({ assignment: e.payload.memberAssignment }, 'joined group')
      events.onJoin(++this.generation)
    })
    consumer.on(COMMIT_OFFSETS, (e) => {
      for (const t of e.payload.topics) {
        for (const p of t.partitions as unknown as { partition: number; offset: string }[]) {
          const key = `${t.topic}:${p.partition}:${String(p.offset)}`
          if (this.confirmations.has(key)) this.confirmations.set(key, true)
        }
      }
    })
    consumer.on(FETCH, (e) => log.trace({ batches: e.payload.numberOfBatches, ms: e.payload.duration }, 'fetched'))
    consumer.on(CRASH, (e) => {
      if (this.stopping) {
        // Not restarted (restartOnFailure): the stop goes on with what it can still flush and commit.
        log.warn({ err: e.payload.error.message }, 'consumer crashed during the stop; not restarting')
        return
      }
      log.error({ err: e.payload.error.message, restart: e.payload.restart }, 'consumer crashed')
      // kafkajs restarts after a retriable crash (and rejoins: GROUP_JOIN rebuilds the state);
      // after any other, nothing would ever consume again.
      if (!e.payload.restart) events.fatal(e.payload.error)
    })
    await consumer.subscribe({ topics: [...this.options.topics], fromBeginning: true })
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch: (payload) => events.onBatch(payload) })
    log.trace({ groupId }, 'consumer running')
  }

  /** A stop has begun: from now on the consumer is never restarted and never rejoins. */
  beginStop(): void {
    this.stopping = true
  }

  /** Stops kafkajs fetching every subscribed topic (the rdkafka transport, and a stop). */
  pauseAll(): void {
    try {
      this.consumer.pause(this.options.topics.map((topic) => ({ topic })))
    } catch (err) {
      // Before kafkajs runs (a stop during start-up) there is nothing to pause.
      this.options.log.debug({ err: (err as Error).message }, 'nothing to pause yet')
    }
  }

  /** Each partition's committed offset and metadata for one topic ('-1': none). */
  async committed(topic: string): Promise<Map<number, CommittedOffset>> {
    const [offsets] = await this.admin.fetchOffsets({ groupId: this.options.groupId, topics: [topic] })
    return new Map((offsets?.partitions ?? []).map((p) => [p.partition, { offset: p.offset, metadata: p.metadata }]))
  }

  /**
   * Commits offsets with metadata in one request, or throws. kafkajs's commitOffsets returns
   * quietly without committing when its runner is not running (during a restart or shutdown) and
   * retries through a rebalance while we hold the partition: either would let a flush insert rows
   * whose range was never put on record, and a replay with other range boundaries would count them
   * again. So a commit during a rebalance fails at once, and a commit counts only when kafkajs
   * reports it.
   */
  async commit(commits: readonly MemberCommit[]): Promise<void> {
    const what = (): string => commits.map((c) => `${c.topic}/${c.partition}@${c.offset}`).join(', ')
    if (this.rebalancing || this.leaving) throw new EngineError(EngineErrorCode.COMMIT_REFUSED, `not committing ${what()}: the group is rebalancing`)
    const keys = commits.map((c) => `${c.topic}:${c.partition}:${c.offset}`)
    for (const key of keys) this.confirmations.set(key, false)
    let confirmed = false
    try {
      await this.consumer.commitOffsets(commits.map((c) => ({ ...c })))
    } finally {
      confirmed = keys.every((key) => this.confirmations.get(key) === true)
      for (const key of keys) this.confirmations.delete(key)
    }
    if (!confirmed) throw new EngineError(EngineErrorCode.COMMIT_REFUSED, `kafkajs did not commit ${what()} (consumer not running)`)
  }

  /** Leaves the group (no commit is possible after this starts). */
  async leave(): Promise<void> {
    this.leaving = true
    await this.consumer.disconnect()
    await this.admin.disconnect()
  }
}

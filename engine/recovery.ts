import type { Logger } from 'pino'
import type { Codec, EventType } from '../schemas/index.js'

/** What a topic carries: its stream and the codec of its records. */
export interface TopicSource {
  readonly type: EventType
  readonly codec: Codec
}
import { decodeCheckpoint, type CheckpointMetadata, type GroupDescriptor } from './checkpoint.js'
import { EngineError, EngineErrorCode } from './errors.js'
import type { FlushExecutor, MemberCommit } from './flush.js'
import type { EngineMetrics } from './metrics.js'
import type { EventTimePolicy, PartitionCheckpoint } from './partition-state.js'
import type { PipelineDefinition } from '../pipelines/pipeline.js'
import { PartitionProcessor } from './processor.js'
import type { SourceRecord } from './source-record.js'
import { encodeCheckpoint } from './checkpoint.js'
import type { OffsetRange } from './range-reader.js'

/** A partition's committed offset ('-1': none) and its metadata, as the offset log holds them. */
export interface CommittedOffset {
  readonly offset: string
  readonly metadata: string | null
}

/**
 * Where the exactly-once protocol keeps its record: the consumer group's committed offsets with
 * their metadata (the checkpoint, and a pending range or group). A Kafka consumer group in
 * production (kafkajs: GroupMembership), a map in the unit tests.
 */
export interface OffsetLog {
  /** Each partition's committed offset and metadata for one topic. */
  committed(topic: string): Promise<Map<number, CommittedOffset>>
  /** Several partitions' commits as one request: all of them, or it throws. */
  commit(commits: readonly MemberCommit[]): Promise<void>
}

/** Re-reads offset ranges [from, to] of any partitions (whoever owns them), record by record in offset order. */
export type RangeReplay = (ranges: readonly OffsetRange[], onRecord: (range: OffsetRange, record: SourceRecord) => void) => Promise<void>

export interface RecoveryOptions {
  readonly groupId: string
  readonly setId: string
  readonly pipelines: readonly PipelineDefinition[]
  /** The topics the set reads, each with its stream and codec. */
  readonly sources: ReadonlyMap<string, TopicSource>
  readonly policy: EventTimePolicy
  readonly offsets: OffsetLog
  readonly executor: Pick<FlushExecutor, 'writeGroup'>
  readonly replay: RangeReplay
  readonly log: Logger
  readonly metrics?: Pick<EngineMetrics, 'groupRecoveries'>
  /** Called with an error that must stop the worker (it is thrown as well). */
  readonly fatal?: (err: Error) => void
}

/** A partition opened for consumption: its processor and where to read from (null: the beginning). */
export interface OpenedPartition {
  readonly proc: PartitionProcessor
  readonly start: bigint | null
  readonly committed: bigint | null
  readonly checkpoint: CheckpointMetadata | null
}

/**
 * The recovery half of the exactly-once protocol (FlushExecutor is the other): opens a partition
 * from what the offset log holds. A checkpoint carries the event-time state; a pending range is
 * replayed by the processor (it refuses to flush it short of its end, then flushes it as first
 * planned, under the same tokens); a pending group is rebuilt here, from every member's range,
 * re-inserted under the group's tokens, and this member committed past its range.
 */
export class PartitionRecovery {
  /** Pending groups this worker has rebuilt and re-inserted: each member's state after its range. */
  private readonly resolvedGroups = new Map<string, Map<string, PartitionCheckpoint>>()

  constructor(private readonly options: RecoveryOptions) {}

  /**
   * Reads the partition's committed offset and checkpoint (or takes `known`, read by the caller
   * for several partitions at once), resolves a pending group, and builds its processor. Null
   * when the group moved on while a pending group was being resolved (its next owner resolves it).
   */
  async open(topic: string, partition: number, known?: Map<number, CommittedOffset>): Promise<OpenedPartition | null> {
    const { options } = this
    const source = options.sources.get(topic)
    if (!source) throw new EngineError(EngineErrorCode.UNKNOWN_TOPIC, `no pipeline reads ${topic}`)
    const p = (known ?? (await options.offsets.committed(topic))).get(partition)
    let committed = p && p.offset !== '-1' ? BigInt(p.offset) : null
    let checkpoint = decodeCheckpoint(p?.metadata)
    if (checkpoint?.set && checkpoint.set !== options.setId) {
      this.fail(
        new EngineError(
          EngineErrorCode.PIPELINE_SET_CHANGED,
          `consumer group ${options.groupId} was written by another set of pipelines; run this set (${options.pipelines.map((x) => x.name).join(', ')}) under a new group (--group) and backfill with \`streamcube rebuild\``,
        ),
      )
    }
    if (checkpoint?.pending && checkpoint.group && committed !== null) {
      // A group flush is pending on this partition: rebuild and re-insert the whole group (or
      // take its result, if this worker already did for another member), commit this member past
      // its range, and start from there like any partition.
      let after: PartitionCheckpoint
      try {
        after = await this.resolveGroup(topic, partition, checkpoint.group)
      } catch (err) {
        // A rebalance took the partition while the group was rebuilt: its next owner resolves it.
        if (err instanceof EngineError && err.code === EngineErrorCode.COMMIT_REFUSED) {
          options.log.info({ topic, partition, pendingGroup: checkpoint.group.id, err: err.message }, 'pending group flush left to the next owner')
          return null
        }
        throw err
      }
      committed = BigInt(checkpoint.pending) + 1n
      checkpoint = { v: 1, set: options.setId, watermark: after.watermark, horizonStart: after.horizonStart, pending: null, group: null }
    }
    const proc = new PartitionProcessor(topic, partition, source.type, source.codec, options.pipelines, options.policy, checkpoint, committed)
    const start = PartitionProcessor.startOffset(checkpoint, committed)
    if (checkpoint?.pending) options.log.info({ topic, partition, first: committed?.toString(), last: checkpoint.pending, from: start?.toString() }, 'replaying a pending flush range')
    return { proc, start, committed, checkpoint }
  }

  /**
   * Resolves a group flush found pending on one of its members: re-reads every member's range
   * (from its state before, rebuilding its id memory from the horizon), rebuilds each member's
   * plan — the processor is a pure function of the records and that state, so the plans and
   * the combined blocks are the ones first inserted — re-inserts them under the group's tokens
   * (ClickHouse drops the tables that had landed), then commits this member past its range.
   * Every member's owner does the same for its own partition; the second to insert is dropped.
   * Returns this member's state after its range.
   */
  private async resolveGroup(topic: string, partition: number, group: GroupDescriptor): Promise<PartitionCheckpoint> {
    const { options } = this
    const { log, metrics } = options
    const self = `${topic}:${partition}`
    let afters = this.resolvedGroups.get(group.id)
    if (afters) metrics?.groupRecoveries.inc({ outcome: 'reused' })
    else {
      await this.checkGroupOnRecord(group)
      log.info({ pendingGroup: group.id, members: group.members.map((m) => `${m.topic}/${m.partition}@${m.first}-${m.last}`) }, 'rebuilding a pending group flush')
      const started = Date.now()
      const procs = new Map<string, PartitionProcessor>()
      const ranges = group.members.map((m) => {
        const source = options.sources.get(m.topic)
        if (!source) throw new EngineError(EngineErrorCode.UNKNOWN_TOPIC, `group ${group.id} names ${m.topic}, which no pipeline of this set reads`)
        const state: CheckpointMetadata = { v: 1, set: options.setId, watermark: m.watermark, horizonStart: m.horizonStart, pending: m.last, group }
        const first = BigInt(m.first)
        procs.set(`${m.topic}:${m.partition}`, new PartitionProcessor(m.topic, m.partition, source.type, source.codec, options.pipelines, options.policy, state, first))
        return { topic: m.topic, partition: m.partition, from: PartitionProcessor.startOffset(state, first) ?? first, to: BigInt(m.last) }
      })
      await options.replay(ranges, (range, record) => procs.get(`${range.topic}:${range.partition}`)!.handle(record)).catch((err: Error) => {
        // Without every member's records the group cannot be rebuilt exactly: stop, loudly.
        options.fatal?.(err)
        throw err
      })
      const plans = group.members.map((m) => {
        const plan = procs.get(`${m.topic}:${m.partition}`)!.takeFlush()
        if (!plan || plan.first !== m.first || plan.last !== m.last) {
          // A replay that does not reproduce the range would insert other blocks under the group's tokens.
          this.fail(new EngineError(EngineErrorCode.GROUP_REPLAY_MISMATCH, `group ${group.id}: ${m.topic}/${m.partition} replayed as ${plan ? `${plan.first}-${plan.last}` : 'nothing'}, not ${m.first}-${m.last}`))
        }
        return plan
      })
      await options.executor.writeGroup(plans, group)
      afters = new Map(plans.map((plan) => [`${plan.topic}:${plan.partition}`, plan.after]))
      this.resolvedGroups.set(group.id, afters)
      // Kept for the group's other members this worker may own; a few groups at most.
      if (this.resolvedGroups.size > 64) this.resolvedGroups.delete(this.resolvedGroups.keys().next().value as string)
      metrics?.groupRecoveries.inc({ outcome: 'rebuilt' })
      log.info({ pendingGroup: group.id, ms: Date.now() - started }, 'pending group flush re-inserted')
    }
    const after = afters.get(self)
    const member = group.members.find((m) => m.topic === topic && m.partition === partition)
    if (!after || !member) throw new EngineError(EngineErrorCode.GROUP_REPLAY_MISMATCH, `group ${group.id} does not list ${topic}/${partition}`)
    await options.offsets.commit([{ topic, partition, offset: (BigInt(member.last) + 1n).toString(), metadata: encodeCheckpoint(after, options.setId) }])
    return after
  }

  /**
   * A group's pending commit is one request, which the broker appends as one batch: every member
   * has the group on record at its first offset, or has moved past it by resolving it. A member
   * neither (behind its first offset, or at it without this group) means that assumption broke —
   * the group's inserts never started, but another member may already have moved past it on its
   * own — so rather than guess, the worker stops with the evidence.
   */
  private async checkGroupOnRecord(group: GroupDescriptor): Promise<void> {
    const byTopic = new Map<string, Map<number, CommittedOffset>>()
    for (const m of group.members) {
      let offsets = byTopic.get(m.topic)
      if (!offsets) byTopic.set(m.topic, (offsets = await this.options.offsets.committed(m.topic)))
      const c = offsets.get(m.partition)
      const at = c && c.offset !== '-1' ? BigInt(c.offset) : null
      const first = BigInt(m.first)
      if (at !== null && (at > first || (at === first && decodeCheckpoint(c?.metadata)?.group?.id === group.id))) continue
      this.fail(
        new EngineError(
          EngineErrorCode.GROUP_NOT_ON_RECORD,
          `group flush ${group.id} is on record for some members but not for ${m.topic}/${m.partition} (committed ${at ?? 'nothing'}, expected ${m.first} naming the group): replaying it could count twice, so the worker stops; inspect the group's offsets (kafka-consumer-groups --describe --group ${this.options.groupId})`,
        ),
      )
    }
  }

  private fail(err: EngineError): never {
    this.options.fatal?.(err)
    throw err
  }
}

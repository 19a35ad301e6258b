import type { EachBatchPayload } from 'kafkajs'
import type { Logger } from 'pino'
import type { GroupMembership } from './group.js'
import type { PartitionTable } from './partitions.js'

/** How records reach the partitions: kafkajs's own fetch, or a fetcher beside it. */
export interface RecordTransport {
  readonly name: 'kafkajs' | 'rdkafka'
  /** Before the group is joined. */
  connect(): Promise<void>
  /** A batch from kafkajs's fetch loop. */
  onBatch(payload: EachBatchPayload): Promise<void>
  /** The group is rebalancing (synchronously: nothing fetched before it may be taken after). */
  onRebalancing(): void
  /** This member joined; `generation` counts the joins. */
  onJoin(generation: number): void
  /**
   * Reads the partition again from `offset` (under the table's lock): a failed flush dropped its
   * state while this member holds it, and only a batch re-opens it. Nothing while rebalancing
   * (the next join reads every assigned partition from its committed offset).
   */
  readAgain(topic: string, partition: number, offset: string): Promise<void>
  /** After the group is joined: the transport's own loop, if it has one. */
  start(): void
  /** Ends the transport's loop (a graceful stop): resolves when no more records will be taken. */
  drain(): Promise<void>
  disconnect(): Promise<void>
}

export interface TransportContext {
  readonly group: GroupMembership
  readonly partitions: PartitionTable
  readonly log: Logger
  /** True once a stop or crash began: no record is taken any more. */
  readonly stopped: () => boolean
  readonly fatal: (err: Error) => void
  /** Resolves when the sink takes inserts (FlushExecutor.sinkReady): awaited before a batch is taken. */
  readonly sinkReady: () => Promise<void>
}

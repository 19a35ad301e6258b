import type { EachBatchPayload } from 'kafkajs'
import type { PartitionEntry } from './partitions.js'
import type { SourceRecord } from './source-record.js'
import type { RecordTransport, TransportContext } from './transport.js'

/**
 * The kafkajs transport: kafkajs fetches, and each batch is fed to its partition under the lock.
 * Backpressure: flushes wait inside the batch handler, so while ClickHouse is slow or down and the
 * insert retries (FlushExecutor.sinkReady), kafkajs fetches nothing more; memory is bounded by the flush thresholds.
 */
export class KafkajsTransport implements RecordTransport {
  readonly name = 'kafkajs'

  constructor(private readonly ctx: TransportContext) {}

  connect(): Promise<void> {
    return Promise.resolve()
  }

  onBatch(payload: EachBatchPayload): Promise<void> {
    this.ctx.log.trace({ topic: payload.batch.topic, partition: payload.batch.partition }, 'batch arrived')
    return this.ctx.partitions.locked(() => this.take(payload))
  }

  onRebalancing(): void {}

  onJoin(): void {}

  async readAgain(topic: string, partition: number, offset: string): Promise<void> {
    const { group, log } = this.ctx
    if (group.rebalancing || this.ctx.stopped() || !group.holds(topic, partition)) return
    log.info({ topic, partition, from: offset }, 'reading the partition again after a failed flush')
    group.consumer.seek({ topic, partition, offset })
  }

  start(): void {}

  drain(): Promise<void> {
    return Promise.resolve()
  }

  disconnect(): Promise<void> {
    return Promise.resolve()
  }

  private async take({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { group, partitions, log } = this.ctx
    group.heartbeat = heartbeat
    // While the sink fails nothing more is taken (the retries heartbeat through group.heartbeat).
    await this.ctx.sinkReady()
    if (this.ctx.stopped()) return
    log.trace({ topic: batch.topic, partition: batch.partition, first: batch.firstOffset(), records: batch.messages.length }, 'batch')
    const entry = partitions.get(`${batch.topic}:${batch.partition}`) ?? (await this.open(batch.topic, batch.partition, batch.messages[0]?.offset))
    if (!entry) return // seeked: the next batch starts where the processor needs it
    // Offsets are resolved once, at whatever ends the loop (kafkajs then fetches after the last
    // record taken): per record it cost kafkajs a Long parse and a map lookup each.
    let taken: string | undefined
    // Whether to go on. A stop, a seek (only open() asks for one) or a rebalance runs on a turn of
    // its own, so isRunning()/isStale() can change only across an await: they are asked before the
    // loop and after each flush it awaits, not per record (kafkajs builds a map key per isStale()).
    let live = isRunning() && !isStale()
    try {
      for (const m of batch.messages) {
        if (!live || entry.dead) break
        taken = m.offset
        // kafkajs's message is a SourceRecord as it stands (its record-batch decoders always set
        // headers; only the pre-0.11 message formats' leave them out): no object of our own per record.
        const record = (m.headers ? m : { ...m, headers: {} }) as SourceRecord
        if (partitions.take(entry, record)) {
          // A failed flush killed the entry: stop here; the next batch re-initialises the
          // partition from its committed offset.
          if (!(await partitions.flushTaken(entry))) return
          live = isRunning() && !isStale()
        }
      }
    } finally {
      if (taken !== undefined) resolveOffset(taken)
    }
    await partitions.afterRecords(entry, batch.topic, batch.partition, batch.messages.length, BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n)
    await heartbeat()
    group.heartbeat = undefined
  }

  /** Opens the partition; seeks kafkajs (and returns null) when the batch does not start where the processor must. */
  private async open(topic: string, partition: number, firstOffset: string | undefined): Promise<PartitionEntry | null> {
    const { partitions, log } = this.ctx
    const opened = await partitions.open(topic, partition)
    if (!opened) return null
    const { entry, start, committed, checkpoint } = opened
    // Kept either way: after a seek the next batch lands exactly at `start`.
    partitions.set(entry)
    if (start !== null && firstOffset !== undefined && BigInt(firstOffset) !== start) {
      log.info({ topic, partition, from: start.toString(), committed: committed?.toString(), pending: checkpoint?.pending }, 'seeking to rebuild state / replay the pending range')
      this.ctx.group.consumer.seek({ topic, partition, offset: start.toString() })
      return null
    }
    log.trace({ topic, partition, committed: committed?.toString(), checkpoint }, 'partition state initialised')
    return entry
  }
}

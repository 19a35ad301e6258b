import type { EachBatchPayload } from 'kafkajs'
import type { RecordTransport, TransportContext } from './transport.js'
import type { CommittedOffset } from './recovery.js'
import type { FetchedRecord, RecordFetcher } from './rdkafka-fetcher.js'

/**
 * The node-rdkafka transport (KAFKA_CLIENT=rdkafka). kafkajs keeps the group membership and the
 * offset commits — the exactly-once protocol's checkpoint lives in commit metadata fenced by the
 * group generation, and node-rdkafka cannot commit metadata — with every subscribed topic paused,
 * and the fetcher reads the assigned partitions from the positions this worker computes.
 */
export class RdkafkaTransport implements RecordTransport {
  readonly name = 'rdkafka'
  /** Bumped by every assign, unassign and seek of the fetcher: a fetch that spans one is re-read. */
  private epoch = 0
  /** The generation the fetcher was last assigned for. */
  private assigned = -1
  private loop: Promise<void> | undefined

  constructor(
    private readonly ctx: TransportContext,
    private readonly fetcher: RecordFetcher,
    /** Records per fetch. */
    private readonly fetchMax = 10_000,
  ) {}

  connect(): Promise<void> {
    return this.fetcher.connect()
  }

  onBatch(payload: EachBatchPayload): Promise<void> {
    // Not expected (the topics are paused at every join); nothing is resolved or committed here.
    this.ctx.group.consumer.pause([{ topic: payload.batch.topic }])
    return Promise.resolve()
  }

  onRebalancing(): void {
    this.fetcher.unassign()
    this.epoch++
  }

  onJoin(generation: number): void {
    // kafkajs fetches nothing (every topic paused, from the first join on, before its fetch loop
    // starts): it only keeps the membership and commits.
    this.ctx.group.pauseAll()
    // A fetch that started before this join belongs to the old assignment: its records must not
    // reach the new generation's state (the fetcher is reassigned under the lock below, and until
    // then a record of a newly assigned partition would seek a partition the fetcher does not hold
    // yet — librdkafka refuses, and the worker would die).
    this.fetcher.unassign()
    this.epoch++
    void this.ctx.partitions.locked(() => this.assign(generation)).catch((err: Error) => this.ctx.fatal(err))
  }

  start(): void {
    this.loop = this.run().catch((err: Error) => this.ctx.fatal(err))
  }

  async drain(): Promise<void> {
    await this.loop
  }

  disconnect(): Promise<void> {
    return this.fetcher.disconnect()
  }

  /** Re-opens the partition at once (from where the offset log says, which is `offset` or before it): see reopen(). */
  async readAgain(topic: string, partition: number, offset: string): Promise<void> {
    const { group, log } = this.ctx
    if (!this.current(group.generation)) return
    log.info({ topic, partition, from: offset }, 'reading the partition again after a failed flush')
    await this.reopen(topic, partition)
  }

  private current(generation: number): boolean {
    const { group } = this.ctx
    return generation === group.generation && !group.rebalancing && !this.ctx.stopped()
  }

  /** After a join: opens every assigned partition and points the fetcher at where each must be read from. */
  private async assign(generation: number): Promise<void> {
    const { group, partitions, log } = this.ctx
    const positions = []
    // One offsets request per topic, not per partition. Fetched after every retiring flush of the
    // dropped entries has settled, so the committed offsets read are final.
    await partitions.retired()
    const committed = new Map<string, Map<number, CommittedOffset>>()
    for (const { topic, partition } of group.assignment) {
      if (!this.current(generation)) return
      let known = committed.get(topic)
      if (!known) committed.set(topic, (known = await group.committed(topic)))
      const opened = await partitions.open(topic, partition, known)
      if (!opened) return // the group is rebalancing: the next join assigns again
      partitions.set(opened.entry)
      positions.push({ topic, partition, offset: opened.start })
    }
    if (!this.current(generation)) return
    this.fetcher.assign(positions)
    this.assigned = generation
    this.epoch++
    log.info({ partitions: positions.map((p) => ({ ...p, offset: p.offset?.toString() ?? 'beginning' })) }, 'fetcher assigned')
  }

  /** Fetch, then hand each partition's records to its processor, until stop(). */
  private async run(): Promise<void> {
    const { partitions, group } = this.ctx
    while (!this.ctx.stopped()) {
      const epoch = this.epoch
      const records = await this.fetcher.fetch(this.fetchMax)
      if (records.length === 0) continue
      const byPartition = new Map<string, FetchedRecord[]>()
      for (const r of records) {
        const key = `${r.topic}:${r.partition}`
        const list = byPartition.get(key)
        if (list) list.push(r)
        else byPartition.set(key, [r])
      }
      await partitions.locked(async () => {
        // While the sink fails nothing more is taken (nor fetched: this loop waits here).
        await this.ctx.sinkReady()
        if (this.ctx.stopped() || group.rebalancing) return
        if (epoch !== this.epoch) {
          // The assignment or a position moved while this fetch ran: its records may come from
          // before the move. Drop them and read each live partition again from where it stands.
          for (const [key, list] of byPartition) {
            const { topic, partition } = list[0]!
            const entry = partitions.get(key)
            if (entry && !entry.dead) await this.fetcher.seek({ topic, partition, offset: entry.next })
          }
          this.epoch++
          return
        }
        for (const [key, list] of byPartition) await this.take(key, list)
      })
    }
  }

  /**
   * A failed flush dropped the partition's state: rebuild it from the offset log and read from
   * where it must start. The entry exists from here on, so a fetch already under way when the
   * seek moved the position is dropped and the partition sought again to the entry's next
   * offset (run()); a bare seek without an entry lost those records, and the partition's re-read.
   */
  private async reopen(topic: string, partition: number): Promise<void> {
    const { group, partitions } = this.ctx
    if (!group.holds(topic, partition)) return
    // Only a fetcher assigned for this generation can seek the partition (librdkafka refuses a
    // seek on a partition it does not hold: "Erroneous state").
    if (this.assigned !== group.generation) return
    const opened = await partitions.open(topic, partition)
    if (!opened) return
    // Opening may have taken a while (a pending group is rebuilt by re-reading every member):
    // if the group moved on meanwhile, the fetcher no longer holds the partition.
    if (this.assigned !== group.generation || !this.current(group.generation)) return
    partitions.set(opened.entry)
    await this.fetcher.seek({ topic, partition, offset: opened.start })
    this.epoch++
  }

  private async take(key: string, records: FetchedRecord[]): Promise<void> {
    const { partitions } = this.ctx
    const { topic, partition } = records[0]!
    const entry = partitions.get(key)
    // These records were fetched before the re-open's seek: not delivered again after it.
    if (!entry) return this.reopen(topic, partition)
    let taken = 0
    for (const r of records) {
      if (this.ctx.stopped() || entry.dead) break
      const offset = BigInt(r.offset)
      if (entry.next !== null && offset < entry.next) continue // a stale prefetch: already taken
      entry.next = offset + 1n
      taken++
      if (partitions.take(entry, r) && !(await partitions.flushTaken(entry))) return
    }
    const high = this.fetcher.highWatermark(topic, partition)
    await partitions.afterRecords(entry, topic, partition, taken, high !== null && entry.next !== null ? high - entry.next : 0n)
  }
}

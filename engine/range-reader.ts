import type { Kafka } from 'kafkajs'
import { EngineError, EngineErrorCode } from './errors.js'
import type { SourceRecord } from './source-record.js'

/** Offsets [from, to] of one topic-partition, both inclusive. */
export interface OffsetRange {
  readonly topic: string
  readonly partition: number
  readonly from: bigint
  readonly to: bigint
}

export interface ReadRangesOptions {
  /** The group id of the reader: a name of its own (it never commits), deleted afterwards. */
  readonly groupId: string
  /** Called every few seconds while reading (keeps the caller's own group membership alive). */
  readonly heartbeat?: () => Promise<void>
  /** Gives up (RANGE_UNREADABLE) when the ranges are not read in this time. */
  readonly timeoutMs?: number
  /** Bytes per partition and fetch (default 1 MiB). */
  readonly maxBytesPerPartition?: number
}

/**
 * Reads offset ranges of partitions this worker's group may not own — what rebuilding a pending
 * group flush needs (its members' ranges, whoever owns them now). kafkajs has no manual
 * assignment, so the reader is a consumer alone in a group of its own: it is assigned every
 * partition of the topics, pauses the ones it does not need, seeks the others to their range
 * and hands each record of a range to `onRecord` in offset order (partition by partition).
 * It never commits; the group is deleted afterwards.
 */
export async function readRanges(kafka: Kafka, ranges: readonly OffsetRange[], onRecord: (range: OffsetRange, record: SourceRecord) => void, options: ReadRangesOptions): Promise<void> {
  const wanted = new Map(ranges.map((r) => [`${r.topic}:${r.partition}`, r]))
  const remaining = new Set(wanted.keys())
  if (remaining.size === 0) return
  const consumer = kafka.consumer({ groupId: options.groupId, maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024, retry: { retries: 5 } })
  const admin = kafka.admin()
  let finish!: () => void
  let fail!: (err: Error) => void
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve
    fail = reject
  })
  const timer = setTimeout(
    () => fail(new EngineError(EngineErrorCode.RANGE_UNREADABLE, `could not read ${[...remaining].join(', ')} within ${options.timeoutMs ?? 120_000} ms (records deleted by retention, or the broker unreachable)`)),
    options.timeoutMs ?? 120_000,
  )
  const beat = setInterval(() => void options.heartbeat?.().catch(() => {}), 2_000)
  try {
    await Promise.all([consumer.connect(), admin.connect()])
    const topics = [...new Set(ranges.map((r) => r.topic))]
    // The next offset each range needs: a rejoin (or a restart after a failed join) seeks there
    // again, and anything delivered below it is skipped, so every record is handed over once.
    const next = new Map(ranges.map((r) => [`${r.topic}:${r.partition}`, r.from]))
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const idle = Object.entries(e.payload.memberAssignment)
        .map(([topic, partitions]) => ({ topic, partitions: partitions.filter((p) => !remaining.has(`${topic}:${p}`)) }))
        .filter((t) => t.partitions.length > 0)
      if (idle.length > 0) consumer.pause(idle)
      // Seeks are possible from the join on (not before: kafkajs may still be finding the group's coordinator).
      for (const key of remaining) {
        const r = wanted.get(key)!
        consumer.seek({ topic: r.topic, partition: r.partition, offset: next.get(key)!.toString() })
      }
    })
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) fail(e.payload.error)
    })
    await consumer.subscribe({ topics, fromBeginning: true })
    await consumer.run({
      // Resolving moves the reader's own fetch position (nothing is committed).
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        const key = `${batch.topic}:${batch.partition}`
        const range = wanted.get(key)
        if (!range || !remaining.has(key)) return
        for (const m of batch.messages) {
          const offset = BigInt(m.offset)
          if (offset < next.get(key)!) continue // fetched before the seek landed, or handed over already
          if (offset > range.to) break
          onRecord(range, { offset: m.offset, key: m.key, value: m.value, headers: (m.headers ?? {}) as SourceRecord['headers'], timestamp: m.timestamp })
          next.set(key, offset + 1n)
          resolveOffset(m.offset)
          if (offset === range.to) {
            remaining.delete(key)
            consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }])
            if (remaining.size === 0) finish()
            return
          }
        }
      },
    })
    await done
  } finally {
    clearTimeout(timer)
    clearInterval(beat)
    await consumer.disconnect().catch(() => {})
    await admin.deleteGroups([options.groupId]).catch(() => {})
    await admin.disconnect().catch(() => {})
  }
}

/** One Kafka record as the engine sees it, whatever the client. */
export interface SourceRecord {
  readonly offset: string
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: Readonly<Record<string, Buffer | string | undefined>>
  readonly timestamp: string
  /** The timestamp as a number, where the client has it so (kafkajs's records through sinks/kafka/record-batches.ts). */
  readonly timestampMs?: number
  /**
   * The bytes the value was fetched in, where the client keeps it there (kafkajs's records through
   * sinks/kafka/record-batches.ts, whose `value` is a new view on each read): the engine reads the
   * value as bytes [valueAt, valueEnd) of `fetched`; valueEnd < valueAt for a null value.
   */
  readonly fetched?: Buffer
  readonly valueAt?: number
  readonly valueEnd?: number
}

/**
 * A record kept until its flush (a dead letter, a late event) with its bytes copied. A fetched
 * record's key, value and headers are slices of the whole fetch response (up to FETCH_MAX_BYTES),
 * so one such record kept as it came would hold that response in memory until the flush.
 */
export function detached(record: SourceRecord): SourceRecord {
  const headers: Record<string, Buffer | string | undefined> = {}
  for (const [k, v] of Object.entries(record.headers)) headers[k] = Buffer.isBuffer(v) ? Buffer.from(v) : v
  return { offset: record.offset, key: record.key && Buffer.from(record.key), value: record.value && Buffer.from(record.value), headers, timestamp: record.timestamp }
}

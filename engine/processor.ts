import { createHash } from 'node:crypto'
import { DecodeErrorCode, fail, type Codec, type DecodeError, type DecodeResult, type EventType, type TypedEvent } from '../schemas/index.js'
import type { Row } from './cube-buffer.js'
import type { CheckpointMetadata } from './checkpoint.js'
import { Classification, PartitionState, type EventTimePolicy, type PartitionCheckpoint } from './partition-state.js'
import type { PipelineDefinition } from '../pipelines/pipeline.js'
import { QUALITY_PIPELINE, QualityCounts } from './quality.js'
import { detached, type SourceRecord } from './source-record.js'
import { pipesMask, ScannedRowWriter, STREAM_COLUMNS, STREAM_TABLES, StreamChunks, streamRow, type StreamBlock } from './stream-rows.js'

/** A record that could not become an event, with why. */
export interface DeadLetter {
  readonly record: SourceRecord
  readonly error: DecodeError
}

/** An event older than watermark − allowed lateness, with the watermark it missed. */
export interface LateRecord {
  readonly record: SourceRecord
  readonly eventId: string
  readonly eventTime: number
  readonly watermark: number
}

/** Everything one flush of one topic-partition writes, for the offset range [first, last]. */
export interface FlushPlan {
  readonly topic: string
  readonly partition: number
  readonly first: string
  readonly last: string
  /** The state before `first` (committed with `pending` before inserting) and after `last`. */
  readonly before: PartitionCheckpoint
  readonly after: PartitionCheckpoint
  /** The accepted events as rows of their stream table (null: none, or no pipeline of the set reads the stream). */
  readonly stream: StreamBlock | null
  /** Rows per pipeline and table inserted as they are: the data quality counts. */
  readonly rows: ReadonlyMap<string, ReadonlyMap<string, readonly Row[]>>
  readonly deadLetters: readonly DeadLetter[]
  readonly late: readonly LateRecord[]
  readonly counts: FlushCounts
  /** Event times of the accepted events, for freshness. */
  readonly minEventTime: number
  readonly maxEventTime: number
}

export interface FlushCounts {
  records: number
  accepted: number
  duplicates: number
  tooLate: number
  lateAccepted: number
  deadLettered: number
  byPipeline: Record<string, number>
}

const emptyCounts = (): FlushCounts => ({ records: 0, accepted: 0, duplicates: 0, tooLate: 0, lateAccepted: 0, deadLettered: 0, byPipeline: {} })

/** A short fingerprint of a pipeline set, stored in checkpoints so a group cannot silently change sets. */
export function pipelineSetId(pipelines: readonly PipelineDefinition[]): string {
  return createHash('sha256').update(pipelines.map((p) => p.name).sort().join(',')).digest('hex').slice(0, 12)
}

/**
 * The engine for one topic-partition: decode → validate → classify by event time → one stream row
 * per accepted event (its pipelines' views build the cubes from the flush's block in ClickHouse),
 * buffered until the runner takes a flush. No I/O here: the runner (Kafka, or the generator)
 * moves records in and flush plans out.
 */
export class PartitionProcessor {
  private readonly state: PartitionState
  private readonly pipelines: readonly PipelineDefinition[]
  /** The `pipes` mask of this stream's pipelines (0: none of the set reads it, no rows). */
  private readonly pipes: number
  private readonly streamTable: string
  /** The accepted events of the current range as stream rows, in offset order. */
  private readonly streamRows = new StreamChunks()
  /** The JSON codec's fast path, when the codec has one and the stream has pipelines: rows written from the record's bytes. */
  private readonly direct: ScannedRowWriter | null
  private readonly quality: QualityCounts
  private deadLetters: DeadLetter[] = []
  private late: LateRecord[] = []
  private counts = emptyCounts()
  /** Bytes of the records' values taken into the current range. */
  private bytes = 0
  private first: string | null = null
  private last: string | null = null
  private before: PartitionCheckpoint
  private minTime = Number.POSITIVE_INFINITY
  private maxTime = Number.NEGATIVE_INFINITY
  /** Offsets below this are replayed only to rebuild the id memory (they were flushed already). */
  private rebuildUntil: bigint | null = null
  /** When set, the range up to this offset must be flushed as one (a pending range being replayed). */
  readonly pendingLast: bigint | null

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly type: EventType,
    private readonly codec: Codec,
    pipelines: readonly PipelineDefinition[],
    policy: EventTimePolicy,
    checkpoint: CheckpointMetadata | null,
    /** The committed offset (the replay start). */
    committed: bigint | null,
  ) {
    this.pipelines = pipelines.filter((p) => p.sources.includes(type))
    this.pipes = pipesMask(this.pipelines, type)
    this.streamTable = STREAM_TABLES[type]
    this.direct = ScannedRowWriter.for(codec, type, topic, partition, this.pipes)
    this.quality = new QualityCounts(pipelines.map((p) => p.name).sort().join(','), topic)
    this.state = new PartitionState(policy, checkpoint ?? undefined)
    this.before = this.state.checkpoint()
    this.pendingLast = checkpoint?.pending ? BigInt(checkpoint.pending) : null
    if (checkpoint?.horizonStart && committed !== null && BigInt(checkpoint.horizonStart) < committed) this.rebuildUntil = committed
  }

  /** Where consumption must start: the rebuild horizon if the checkpoint has one, else the committed offset. */
  static startOffset(checkpoint: CheckpointMetadata | null, committed: bigint | null): bigint | null {
    if (checkpoint?.horizonStart && committed !== null && BigInt(checkpoint.horizonStart) < committed) return BigInt(checkpoint.horizonStart)
    return committed
  }

  get pendingRecords(): number {
    return this.counts.records
  }

  /** The bytes of the records (values) taken since the last flush: the worker's memory budget counts them. */
  get pendingBytes(): number {
    return this.bytes
  }

  get bufferedRows(): number {
    return this.streamRows.size + this.quality.size + this.deadLetters.length + this.late.length
  }

  get watermark(): number {
    return this.state.watermark
  }

  get rememberedIds(): number {
    return this.state.remembered
  }

  /** The last offset taken into the current (unflushed) range, if any. */
  get lastOffset(): string | null {
    return this.last
  }

  /** Processes one record in offset order. Returns false if it was only replayed for the id memory. */
  handle(record: SourceRecord): boolean {
    const offset = record.offset
    if (this.rebuildUntil !== null) {
      if (BigInt(offset) < this.rebuildUntil) {
        const decoded = this.codec.decode(record.value)
        if (decoded.ok) for (const e of decoded.value) this.state.rememberReplayed(e.event.eventId, e.event.eventTime, offset)
        return false
      }
      this.rebuildUntil = null
      this.before = this.state.checkpoint()
    }
    if (this.first === null) {
      this.first = offset
      this.before = this.state.checkpoint()
    }
    this.last = offset
    this.counts.records++
    // The value's bytes: where they were fetched, if the record says (no view made), else its own.
    const fetched = record.fetched
    const buf = fetched ?? record.value
    const from = fetched ? (record.valueAt as number) : 0
    const to = fetched ? (record.valueEnd as number) : (buf?.length ?? 0)
    if (to > from) this.bytes += to - from
    const ms = record.timestampMs ?? Number(record.timestamp)
    const minute = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 60_000) * 60 : 0
    this.quality.count(minute, 'records', '')
    const direct = this.direct
    if (direct !== null && direct.scanner.scan(buf, from, to)) {
      // The plain case of a JSON record, read in one pass (the slow path below would decode the same event).
      this.quality.count(minute, 'schema', this.codec.format)
      if (this.classify(direct.scanner.eventId, direct.scanner.eventTime, record, minute)) this.streamRows.pushScanned(direct, buf as Buffer, to - from, offset)
      return true
    }
    const decoded = this.checkStream(this.codec.decode(record.value))
    if (!decoded.ok) {
      this.deadLetters.push({ record: detached(record), error: decoded.error })
      this.counts.deadLettered++
      this.quality.count(minute, 'dead_letter', decoded.error.code)
      return true
    }
    // Records that decoded, by writer schema: the schema-version mix of data quality.
    this.quality.count(minute, 'schema', this.codec.schemaOf && record.value ? this.codec.schemaOf(record.value) : this.codec.format)
    const position = { topic: this.topic, partition: this.partition, offset }
    for (const e of decoded.value) {
      // One row per accepted event; every pipeline of the stream reads it through its views
      // (byPipeline is filled at the flush).
      if (this.classify(e.event.eventId, e.event.eventTime, record, minute) && this.pipes !== 0) this.streamRows.push(streamRow(e, position, this.pipes))
    }
    return true
  }

  /** Classifies an event by time and id and counts it; true when it is accepted (its row must be written). */
  private classify(eventId: string, eventTime: number, record: SourceRecord, minute: number): boolean {
    const c = this.state.classify(eventId, eventTime, record.offset)
    if (c === Classification.duplicate) {
      this.counts.duplicates++
      this.quality.count(minute, 'duplicate', '')
      return false
    }
    if (c === Classification.tooLate) {
      this.late.push({ record: detached(record), eventId, eventTime, watermark: this.state.watermark })
      this.counts.tooLate++
      this.quality.count(minute, 'late', '')
      return false
    }
    this.counts.accepted++
    this.quality.count(minute, 'accepted', '')
    if (eventTime < this.state.watermark) {
      this.counts.lateAccepted++
      this.quality.count(minute, 'late_accepted', '')
    }
    if (eventTime < this.minTime) this.minTime = eventTime
    if (eventTime > this.maxTime) this.maxTime = eventTime
    return true
  }

  /**
   * A record whose events belong to another stream than the topic feeds (an Avro record of another
   * schema, a CDC table of the other stream) fails whole: its rows would land in the wrong table.
   */
  private checkStream(decoded: DecodeResult<readonly TypedEvent[]>): DecodeResult<readonly TypedEvent[]> {
    if (!decoded.ok) return decoded
    let other: TypedEvent | undefined
    for (const e of decoded.value) if (e.type !== this.type) other = e
    if (!other) return decoded
    return fail(DecodeErrorCode.STREAM_MISMATCH, `an event of the ${other.type} stream on ${this.topic}, which feeds the ${this.type} stream: check the topic's --source (STREAMCUBE_SOURCES)`)
  }

  /** True when the replay of a pending range has reached its end and must be flushed now. */
  get pendingComplete(): boolean {
    return this.pendingLast !== null && this.last !== null && BigInt(this.last) >= this.pendingLast && !this.pendingFlushed
  }

  private pendingFlushed = false

  /**
   * False only while a pending range is being replayed and has not reached its end: a timed or
   * size-triggered flush must not cut it short. Once it has been re-flushed, the partition flushes
   * like any other (its later records must not wait for a condition that can no longer come).
   */
  get mayFlush(): boolean {
    return this.pendingLast === null || this.pendingFlushed || this.pendingComplete
  }

  /**
   * Takes what was buffered as a flush plan over [first, last] and starts a new range.
   * Returns null when nothing was processed since the last flush.
   */
  takeFlush(): FlushPlan | null {
    if (this.first === null || this.last === null) return null
    if (this.pendingLast !== null && !this.pendingFlushed) {
      // A pending range must be re-flushed exactly as first planned: same first and last offsets.
      if (BigInt(this.last) !== this.pendingLast) return null
      this.pendingFlushed = true
    }
    const rows = new Map<string, Map<string, Row[]>>()
    const stream: StreamBlock | null = this.streamRows.take(this.streamTable, STREAM_COLUMNS[this.type])
    if (stream) for (const p of this.pipelines) this.counts.byPipeline[p.name] = this.counts.accepted
    rows.set(QUALITY_PIPELINE, this.quality.take())
    const plan: FlushPlan = {
      topic: this.topic,
      partition: this.partition,
      first: this.first,
      last: this.last,
      before: this.before,
      after: this.state.checkpoint(),
      stream,
      rows,
      deadLetters: this.deadLetters,
      late: this.late,
      counts: this.counts,
      minEventTime: this.minTime,
      maxEventTime: this.maxTime,
    }
    this.deadLetters = []
    this.late = []
    this.counts = emptyCounts()
    this.bytes = 0
    this.first = null
    this.last = null
    this.minTime = Number.POSITIVE_INFINITY
    this.maxTime = Number.NEGATIVE_INFINITY
    return plan
  }
}

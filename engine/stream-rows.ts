import { Slot, type Codec, type EventType, type JsonEventScanner, type Slots, type TypedEvent } from '../schemas/index.js'
import { PayloadWriter, RAW_FACT_COLUMNS, RAW_FACT_SOURCES, ROW_SEPARATOR, rawFactValues, type Payload } from '../sinks/index.js'
import type { PipelineDefinition, RecordPosition } from '../pipelines/pipeline.js'

/** The Null tables a flush inserts its accepted events into, one per stream; views fill the cubes. */
export const STREAM_TABLES = { behaviour: 'behaviour_stream', order: 'order_stream', inventory: 'inventory_stream' } as const satisfies Record<EventType, string>

/** The pseudo-pipeline under which a flush's stream rows travel (and in their tokens). */
export const STREAM_PIPELINE = 'stream'

/**
 * The `pipes` mask of the pipelines in a set that read a stream: the views of a pipeline whose
 * bit is not in the mask ignore the block. 0 when no pipeline of the set reads the stream.
 */
export function pipesMask(pipelines: readonly PipelineDefinition[], type: EventType): number {
  let mask = 0
  for (const p of pipelines) if (p.sources.includes(type)) mask |= 1 << p.bit
  return mask
}

/** Each stream table's columns: the raw fact columns, then the mask. */
export const STREAM_COLUMNS: Readonly<Record<EventType, readonly string[]>> = {
  behaviour: [...RAW_FACT_COLUMNS.behaviour, 'pipes'],
  order: [...RAW_FACT_COLUMNS.order, 'pipes'],
  inventory: [...RAW_FACT_COLUMNS.inventory, 'pipes'],
}

/**
 * A flush's stream rows for one stream table, already serialised: JSONCompactEachRow bytes (the
 * rows' value arrays in the order of `columns`, separated by commas, which the format accepts
 * between rows), in a pooled buffer that the flush gives back once the insert has succeeded.
 */
export interface StreamBlock {
  readonly table: string
  readonly columns: readonly string[]
  readonly rows: number
  readonly payload: Payload
}

/**
 * Rows per serialised chunk: large enough for one native JSON.stringify to be cheap per row, small
 * enough that the chunk's text (≈ 250 bytes a row) stays under V8's large-object size (128 KiB)
 * and dies young in the new space.
 */
export const CHUNK_ROWS = 256

/**
 * Serialises a partition's stream rows as they come, CHUNK_ROWS at a time, into a pooled buffer.
 * A row array (and the decoded event it came from) then lives for a fraction of a second and dies
 * in V8's young generation, instead of surviving until the flush, being promoted and traced by
 * the old generation's collector; the range waits as bytes, about the size of its records, in
 * memory that earlier flushes have already touched (sinks/clickhouse/payload.ts).
 */
export class StreamChunks {
  private rows: unknown[][] = []
  private readonly writer = new PayloadWriter()
  private count = 0

  push(row: unknown[]): void {
    this.rows.push(row)
    this.count++
    if (this.rows.length >= CHUNK_ROWS) this.seal()
  }

  get size(): number {
    return this.count
  }

  /** Appends the row of the record (`length` bytes of `buf`, at `offset`) that `rows`' scanner has just accepted. */
  pushScanned(rows: ScannedRowWriter, buf: Buffer, length: number, offset: string): void {
    this.seal() // rows keep their offset order
    const out = this.writer.room(rows.bound(length, offset), ROW_SEPARATOR)
    this.writer.commit(rows.write(buf, offset, out, this.writer.length))
    this.count++
  }

  /** The block of everything pushed since the last take (null if nothing), and a fresh start. */
  take(table: string, columns: readonly string[]): StreamBlock | null {
    if (this.count === 0) return null
    this.seal()
    const payload = this.writer.take() as Payload
    const block = { table, columns, rows: this.count, payload }
    this.count = 0
    return block
  }

  private seal(): void {
    if (this.rows.length === 0) return
    this.writer.append(JSON.stringify(this.rows).slice(1, -1), ROW_SEPARATOR)
    this.rows = []
  }
}

/** One accepted event as a row of its stream table (values in STREAM_COLUMNS order): the raw fact values and the set's mask. */
export function streamRow(e: TypedEvent, position: RecordPosition, pipes: number): unknown[] {
  const values = rawFactValues(e, position)
  values.push(pipes)
  return values
}

/** Columns the fast path does not write (the slow path writes them). */
class NotWritable extends Error {}

/** How a column's value is written: a field, a field of each array element, a nested object's field, or the row's own values. */
const Op = { field: 0, each: 1, nested: 2, topic: 3, partition: 4, offset: 5, pipes: 6 } as const
interface ColumnOp {
  readonly op: (typeof Op)[keyof typeof Op]
  /** The event's field (each, nested: the array's or object's field). */
  readonly field: number
  /** each, nested: the field inside the element or object. */
  readonly inner: number
}

/**
 * Writes a partition's stream rows straight from the bytes of JSON records that its codec's scanner
 * accepted (schemas/codecs/json-scan.ts): the values' tokens are copied as they stand in the record
 * (a string without escapes, an enum value and an integer in its shortest form read the same in
 * JSONCompactEachRow as JSON.stringify would write them); numbers with a fraction are written as
 * JavaScript prints them, as JSON.stringify does. The columns come from RAW_FACT_SOURCES.
 */
export class ScannedRowWriter {
  private readonly ops: readonly ColumnOp[]
  /** The array fields the columns read element by element (each adds a value per element to a row's bound). */
  private readonly arrays: readonly number[]
  private readonly topic: Buffer
  private readonly partition: Buffer
  private readonly pipes: Buffer

  constructor(
    readonly scanner: JsonEventScanner,
    type: EventType,
    topic: string,
    partition: number,
    pipes: number,
  ) {
    const { shape } = scanner
    const index = (name: string, s = shape): number => {
      const i = s.index.get(name)
      if (i === undefined) throw new Error(`RAW_FACT_SOURCES names ${name}, which the ${type} event does not have`)
      return i
    }
    this.ops = RAW_FACT_SOURCES[type].map((source: string): ColumnOp => {
      if (source === '@topic') return { op: Op.topic, field: 0, inner: 0 }
      if (source === '@partition') return { op: Op.partition, field: 0, inner: 0 }
      if (source === '@offset') return { op: Op.offset, field: 0, inner: 0 }
      const each = /^(\w+)\[\]\.(\w+)$/.exec(source)
      const nested = /^(\w+)\.(\w+)$/.exec(source)
      const outer = each ?? nested
      if (!outer) return { op: Op.field, field: index(source), inner: 0 }
      const field = index(outer[1] as string)
      // A null array or object would leave its elements' slots as the last record left them.
      if (shape.fields[field]!.nullable) throw new NotWritable(`RAW_FACT_SOURCES reads into ${outer[1]}, which may be null: the fast path does not write it`)
      const inner = index(outer[2] as string, shape.fields[field]!.shape!)
      return { op: each ? Op.each : Op.nested, field, inner }
    })
    this.ops = [...this.ops, { op: Op.pipes, field: 0, inner: 0 }]
    this.arrays = this.ops.filter((o) => o.op === Op.each).map((o) => o.field)
    this.topic = Buffer.from(JSON.stringify(topic))
    this.partition = Buffer.from(String(partition))
    this.pipes = Buffer.from(String(pipes))
  }

  /** A writer for the codec's scanner, or null when it has none or the columns read what the fast path does not write. */
  static for(codec: Codec, type: EventType, topic: string, partition: number, pipes: number): ScannedRowWriter | null {
    if (!codec.scanner || codec.scanner.type !== type || pipes === 0) return null
    try {
      return new ScannedRowWriter(codec.scanner, type, topic, partition, pipes)
    } catch (err) {
      if (err instanceof NotWritable) return null
      throw err
    }
  }

  /**
   * The most bytes the row of the scanned record (`length` bytes) can take: its tokens are copied from the record or
   * printed shorter (a number is printed only where its token has a trailing zero, a sign on zero or
   * leading zeros), and every column adds at most a separator and a `null` for an absent field —
   * once, or once per element for a column read from each element of an array.
   */
  bound(length: number, offset: string): number {
    let values = this.ops.length
    const count = this.scanner.slots.count
    for (const field of this.arrays) values += count[field] as number
    return length + 8 * values + this.topic.length + offset.length + 8
  }

  /** Writes the scanned record's row at `at` of `out` (`src`: the buffer the record was scanned in); returns where it ends. */
  write(src: Buffer, offset: string, out: Buffer, at: number): number {
    const slots = this.scanner.slots
    out[at++] = 0x5b
    for (let c = 0; c < this.ops.length; c++) {
      if (c > 0) out[at++] = 0x2c
      const op = this.ops[c] as ColumnOp
      switch (op.op) {
        case Op.field:
          at = leaf(src, slots, op.field, out, at)
          break
        case Op.nested:
          at = leaf(src, slots.objects[op.field] as Slots, op.inner, out, at)
          break
        case Op.each: {
          out[at++] = 0x5b
          const n = slots.count[op.field] as number
          for (let k = 0; k < n; k++) {
            if (k > 0) out[at++] = 0x2c
            at = leaf(src, slots.element(op.field, k), op.inner, out, at)
          }
          out[at++] = 0x5d
          break
        }
        case Op.topic:
          at = bytes(this.topic, 0, this.topic.length, out, at)
          break
        case Op.partition:
          at = bytes(this.partition, 0, this.partition.length, out, at)
          break
        case Op.offset:
          out[at++] = 0x22
          at = ascii(offset, out, at)
          out[at++] = 0x22
          break
        default:
          at = bytes(this.pipes, 0, this.pipes.length, out, at)
      }
    }
    out[at++] = 0x5d
    return at
  }
}

/** One leaf value: null, its token as it stands, or a number with a fraction as JavaScript prints it. */
function leaf(src: Buffer, slots: Slots, k: number, out: Buffer, at: number): number {
  if (slots.state[k] !== Slot.value) {
    out[at] = 0x6e
    out[at + 1] = 0x75
    out[at + 2] = 0x6c
    out[at + 3] = 0x6c
    return at + 4
  }
  if (slots.print[k] === 1) return ascii(String(slots.num[k]), out, at)
  return bytes(src, slots.start[k] as number, slots.end[k] as number, out, at)
}

/** Writes an ASCII string (digits), a character a byte. */
function ascii(text: string, out: Buffer, at: number): number {
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i)
  return at
}

/** Copies bytes [from, to) of src to out at `at` (a loop for the short tokens most values are). */
function bytes(src: Buffer, from: number, to: number, out: Buffer, at: number): number {
  if (to - from > 48) return at + src.copy(out, at, from, to)
  for (let i = from; i < to; i++) out[at++] = src[i] as number
  return at
}

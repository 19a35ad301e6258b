import type { EventType, TypedEvent } from '../schemas/index.js'
import { PayloadWriter, RAW_FACT_COLUMNS, ROW_SEPARATOR, rawFactValues, type Payload } from '../sinks/index.js'
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

import type { EventType, TypedEvent } from '../../schemas/index.js'
import { RAW_FACT_COLUMNS, rawFactValues } from '../../sinks/index.js'
import type { PipelineDefinition, RecordPosition } from './pipeline.js'

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

/** A flush's stream rows for one stream table, as value arrays in the order of `columns`. */
export interface StreamBlock {
  readonly table: string
  readonly columns: readonly string[]
  readonly values: readonly (readonly unknown[])[]
}

/** One accepted event as a row of its stream table (values in STREAM_COLUMNS order): the raw fact values and the set's mask. */
export function streamRow(e: TypedEvent, position: RecordPosition, pipes: number): unknown[] {
  const values = rawFactValues(e, position)
  values.push(pipes)
  return values
}

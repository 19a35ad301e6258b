import type { EventType } from '../schemas/index.js'
import { cubeTable, type CubeDeclaration } from './cubes.js'

/** Where an event came from. */
export interface RecordPosition {
  readonly topic: string
  readonly partition: number
  readonly offset: string
}

/**
 * A pipeline: which event streams it reads and which tables it fills. Its rows are built by
 * ClickHouse: the worker inserts each flush's accepted events once per stream (the `<stream>_stream`
 * tables, sql/migrations/0008_stream_views.sql) and the pipeline's materialized views, which read
 * only blocks whose `pipes` mask has the pipeline's `bit`, fill its tables. A replay inserts the
 * same block under the same token, so every view's target drops it again.
 */
export interface PipelineDefinition {
  readonly name: string
  readonly description: string
  readonly sources: readonly EventType[]
  readonly tables: readonly string[]
  /** The pipeline's bit in a stream row's `pipes` mask; its views test it (0008_stream_views.sql). */
  readonly bit: number
}

/**
 * A pipeline that fills one cube and is named after it: its views write the cube's minute table,
 * whose own views roll it up into the hour and day tables.
 */
export function cubePipeline(cube: CubeDeclaration, p: { readonly description: string; readonly sources: readonly EventType[]; readonly bit: number }): PipelineDefinition {
  return { name: cube.name, description: p.description, sources: p.sources, tables: [cubeTable(cube, 'minute')], bit: p.bit }
}

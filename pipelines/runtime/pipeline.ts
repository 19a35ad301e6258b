import type { EventType, TypedEvent } from '../../schemas/index.js'
import type { CubeBuffer } from './cube-buffer.js'

/** Where an event came from. */
export interface RecordPosition {
  readonly topic: string
  readonly partition: number
  readonly offset: string
}

/**
 * A pipeline: which event streams it reads, which tables it writes, and how one accepted event
 * contributes to them. `accumulate` must be a pure function of the event (and its position):
 * replaying the same records must give the same rows, which is what makes replays exact.
 */
export interface PipelineDefinition {
  readonly name: string
  readonly description: string
  readonly sources: readonly EventType[]
  readonly tables: readonly string[]
  accumulate(event: TypedEvent, out: CubeBuffer, position: RecordPosition): void
}

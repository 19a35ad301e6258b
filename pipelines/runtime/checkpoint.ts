import type { PartitionCheckpoint } from './partition-state.js'

/*
 * What the engine stores as Kafka offset-commit metadata (per group, topic and partition):
 *   committed offset = the next record to process; metadata = the state needed before it.
 * During a flush of [a, b] the commit at `a` also names `pending: b`: a worker that finds it
 * re-reads exactly [a, b] first and inserts with the same deduplication tokens.
 * Kafka's default offset.metadata.max.bytes is 4096; this stays well under 200 bytes.
 */
export interface CheckpointMetadata extends PartitionCheckpoint {
  readonly v: 1
  /** The last offset of a flush that may have been (partly) inserted. */
  readonly pending: string | null
  /** The pipeline set of the group that wrote it (see pipelineSetId). */
  readonly set: string | null
}

export function encodeCheckpoint(state: PartitionCheckpoint, set: string, pending: string | null = null): string {
  const m: CheckpointMetadata = { v: 1, set, watermark: state.watermark, horizonStart: state.horizonStart, pending }
  return JSON.stringify(m)
}

/** Parses commit metadata; anything else (none, or another tool's) means "no state": start fresh. */
export function decodeCheckpoint(metadata: string | null | undefined): CheckpointMetadata | null {
  if (!metadata) return null
  try {
    const m = JSON.parse(metadata) as Partial<CheckpointMetadata>
    if (m.v !== 1) return null
    return { v: 1, set: m.set ?? null, watermark: typeof m.watermark === 'number' ? m.watermark : null, horizonStart: m.horizonStart ?? null, pending: m.pending ?? null }
  } catch {
    return null
  }
}

/** The deduplication token of one table's insert for one flushed offset range. */
export function deduplicationToken(pipeline: string, table: string, topic: string, partition: number, first: string, last: string): string {
  return `${pipeline}/${table}/${topic}/${partition}/${first}-${last}`
}

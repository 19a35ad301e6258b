import { createHash } from 'node:crypto'
import type { PartitionCheckpoint } from './partition-state.js'

/*
 * What the engine stores as Kafka offset-commit metadata (per group, topic and partition):
 *   committed offset = the next record to process; metadata = the state needed before it.
 * During a flush of [a, b] the commit at `a` also names `pending: b`: a worker that finds it
 * re-reads exactly [a, b] first and inserts with the same deduplication tokens.
 * A group flush (one insert per table for several partitions) also names the whole group in
 * every member's pending commit: its id and each member's range and state before it, so that
 * whoever finds any member pending can rebuild the identical combined block (GroupDescriptor).
 * Kafka's default offset.metadata.max.bytes is 4096: a single range stays under 200 bytes, and a
 * group is cut before its metadata reaches MAX_METADATA_BYTES.
 */
export interface CheckpointMetadata extends PartitionCheckpoint {
  readonly v: 1
  /** The last offset of a flush that may have been (partly) inserted. */
  readonly pending: string | null
  /** The pipeline set of the group that wrote it (see pipelineSetId). */
  readonly set: string | null
  /** With `pending`: the group flush this range belongs to (null: a flush of this partition alone). */
  readonly group: GroupDescriptor | null
}

/** One partition's part of a group flush: its range and the state before it. */
export interface GroupMember extends PartitionCheckpoint {
  readonly topic: string
  readonly partition: number
  readonly first: string
  readonly last: string
}

/** A flush range's part in a group: its topic-partition, range and the state before it. */
export function memberOf(range: { readonly topic: string; readonly partition: number; readonly first: string; readonly last: string; readonly before: PartitionCheckpoint }): GroupMember {
  return { topic: range.topic, partition: range.partition, first: range.first, last: range.last, watermark: range.before.watermark, horizonStart: range.before.horizonStart }
}

/** A group flush: its members in (topic, partition) order, and the id its tokens carry. */
export interface GroupDescriptor {
  readonly id: string
  readonly members: readonly GroupMember[]
}

/** Commit metadata longer than this is refused by a broker on defaults (4096) with margin. */
export const MAX_METADATA_BYTES = 3800

type EncodedMember = [string, number, string, string, number | null, string | null]

export function encodeCheckpoint(state: PartitionCheckpoint, set: string, pending: string | null = null, group: GroupDescriptor | null = null): string {
  const m: Record<string, unknown> = { v: 1, set, watermark: state.watermark, horizonStart: state.horizonStart, pending }
  if (group) m.group = { id: group.id, m: group.members.map((x): EncodedMember => [x.topic, x.partition, x.first, x.last, x.watermark, x.horizonStart]) }
  return JSON.stringify(m)
}

/** Parses commit metadata; anything else (none, or another tool's) means "no state": start fresh. */
export function decodeCheckpoint(metadata: string | null | undefined): CheckpointMetadata | null {
  if (!metadata) return null
  try {
    const m = JSON.parse(metadata) as Partial<CheckpointMetadata> & { group?: { id?: unknown; m?: unknown } }
    if (m.v !== 1) return null
    return { v: 1, set: m.set ?? null, watermark: typeof m.watermark === 'number' ? m.watermark : null, horizonStart: m.horizonStart ?? null, pending: m.pending ?? null, group: decodeGroup(m.group) }
  } catch {
    return null
  }
}

function decodeGroup(g: { id?: unknown; m?: unknown } | undefined): GroupDescriptor | null {
  if (!g || typeof g.id !== 'string' || !Array.isArray(g.m)) return null
  const members = (g.m as EncodedMember[]).map(([topic, partition, first, last, watermark, horizonStart]) => ({ topic, partition, first, last, watermark, horizonStart }))
  return { id: g.id, members }
}

/** The deduplication token of one table's insert for one flushed offset range. */
export function deduplicationToken(pipeline: string, table: string, topic: string, partition: number, first: string, last: string): string {
  return `${pipeline}/${table}/${topic}/${partition}/${first}-${last}`
}

/** The deduplication token of one table's insert for a group flush. */
export function groupToken(pipeline: string, table: string, groupId: string): string {
  return `${pipeline}/${table}/group/${groupId}`
}

/**
 * A group's id: a digest of its members' ranges (and the stream id, when offsets are not unique
 * for ever). Ranges of one partition never overlap, so no two different groups share an id.
 */
export function groupId(members: readonly Pick<GroupMember, 'topic' | 'partition' | 'first' | 'last'>[], streamId?: string): string {
  const h = createHash('sha256')
  if (streamId) h.update(`${streamId}\n`)
  for (const m of members) h.update(`${m.topic}/${m.partition}/${m.first}-${m.last}\n`)
  return h.digest('hex').slice(0, 32)
}

/** Orders members as a group lists them (the combined block's row order follows it). */
export function byTopicPartition(a: { topic: string; partition: number }, b: { topic: string; partition: number }): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition
}

/**
 * Cuts a group's would-be members into groups whose commit metadata (each member's names every
 * member) stays within MAX_METADATA_BYTES, in the given order.
 */
export function chunkByMetadata<T>(items: readonly T[], memberOf: (item: T) => GroupMember, set: string, limit = MAX_METADATA_BYTES): T[][] {
  const base = encodeCheckpoint({ watermark: Number.MAX_SAFE_INTEGER, horizonStart: '9'.repeat(19) }, set, '9'.repeat(19), { id: '0'.repeat(32), members: [] }).length
  const chunks: T[][] = []
  let chunk: T[] = []
  let size = base
  for (const item of items) {
    const m = memberOf(item)
    const bytes = Buffer.byteLength(JSON.stringify([m.topic, m.partition, m.first, m.last, m.watermark, m.horizonStart])) + 1
    if (chunk.length > 0 && size + bytes > limit) {
      chunks.push(chunk)
      chunk = []
      size = base
    }
    chunk.push(item)
    size += bytes
  }
  if (chunk.length > 0) chunks.push(chunk)
  return chunks
}

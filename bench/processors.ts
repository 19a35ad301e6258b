import { DEFAULT_EVENT_TIME_POLICY, PartitionProcessor } from '../engine/index.js'
import { PIPELINES } from '../pipelines/index.js'
import { createJsonCodec, EVENT_TYPES, EventTypes, type EventType } from '../schemas/index.js'

/** One processor per event stream, every pipeline, JSON records: the engine's work without its I/O, for benchmarks. */
export function streamProcessors(): Map<EventType, PartitionProcessor> {
  return new Map(EVENT_TYPES.map((t) => [t, new PartitionProcessor(`bench.${EventTypes[t].topic}`, 0, t, createJsonCodec(t), PIPELINES, DEFAULT_EVENT_TIME_POLICY, null, null)]))
}

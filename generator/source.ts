import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { EventGenerator } from './generator.js'
import { createJsonCodec, EventTypes, EVENT_TYPES, jsonEncoder, type EventType } from '../schemas/index.js'
import type { ClickHouse } from '../sinks/index.js'
import { FlushExecutor } from '../engine/flush.js'
import type { EngineMetrics } from '../engine/metrics.js'
import { DEFAULT_EVENT_TIME_POLICY, type EventTimePolicy } from '../engine/partition-state.js'
import type { PipelineDefinition } from '../pipelines/pipeline.js'
import { PartitionProcessor, pipelineSetId } from '../engine/processor.js'
import { sleep } from '../schemas/time.js'

export interface GeneratorSourceOptions {
  readonly generator: EventGenerator
  readonly pipelines: readonly PipelineDefinition[]
  readonly ch: ClickHouse
  readonly extraConnections?: readonly ClickHouse[]
  readonly log: Logger
  readonly signal: AbortSignal
  readonly metrics?: EngineMetrics
  readonly policy?: EventTimePolicy
  readonly intervalMs?: number
  /** Wall clock; events are released once their event time has come. */
  readonly now?: () => number
  /** Stop (after flushing) at the first event at or after this time: a bounded, reproducible run (tests, backfills). */
  readonly until?: number
  /** Called once, when the history before the wall clock has been generated and flushed (a backfill is in the cubes). */
  readonly onCaughtUp?: () => void
  /**
   * Publish the streams' watermarks to streamcube_watermarks as this consumer group, as a Kafka
   * worker does (`npm start`: freshness, alert evaluation as of complete windows); unset, none.
   */
  readonly watermarkGroup?: string
  /** The streams to feed (default all): the others' records are generated and dropped (the demo's baseline weeks skip inventory, whose batches would stay on hand). */
  readonly streams?: readonly EventType[]
}

/**
 * The built-in generator as an in-process source (for `npm start` and benchmarks): the same
 * processors and flush protocol as the Kafka worker, one "partition" per event type, each record
 * encoded and decoded through the JSON contract. Events are released at wall-clock pace.
 * Returns the number of records processed when the signal aborts.
 */
export async function runGeneratorSource(options: GeneratorSourceOptions): Promise<number> {
  const now = options.now ?? Date.now
  const policy = options.policy ?? DEFAULT_EVENT_TIME_POLICY
  const processors = Object.fromEntries(
    EVENT_TYPES.map((t) => [t, new PartitionProcessor(`generator.${EventTypes[t].topic}`, 0, t, createJsonCodec(t), options.pipelines, policy, null, null)]),
  ) as Record<EventType, PartitionProcessor>
  const offsets: Record<EventType, number> = { behaviour: 0, order: 0, inventory: 0 }
  // Each run is a new stream (offsets from 0 again): its tokens carry a run id of their own.
  const executor = new FlushExecutor({ ch: options.ch, extraConnections: options.extraConnections, forwarder: null, pipelineSet: pipelineSetId(options.pipelines), log: options.log.child({ component: 'flush' }), metrics: options.metrics, streamId: randomUUID() })
  const commit = async () => {}
  const inflight: Partial<Record<EventType, Promise<void>>> = {}
  let pending = undefined as ReturnType<EventGenerator['next']> | undefined
  let total = 0
  let done = false
  let caughtUp = false
  // Watermarks: a stream's windows are complete up to what its flushed records say, and — the
  // generator being every stream's clock — up to where generation had reached, less the
  // out-of-orderness. `taken` is as of the flush in flight, `complete` as of the last one done.
  const taken: Record<EventType, number> = { behaviour: Number.NEGATIVE_INFINITY, order: Number.NEGATIVE_INFINITY, inventory: Number.NEGATIVE_INFINITY }
  const complete = { ...taken }
  let reached = Number.NEGATIVE_INFINITY
  let published = 0
  const publish = async (force: boolean) => {
    if (!options.watermarkGroup || (!force && Date.now() - published < 1000)) return
    published = Date.now()
    const pipelines = options.pipelines.map((p) => p.name)
    await executor.insertPlain('streamcube_watermarks', EVENT_TYPES.map((t) => ({
      group_id: options.watermarkGroup, topic: `generator.${EventTypes[t].topic}`, partition: 0, watermark: Number.isFinite(complete[t]) ? complete[t] : 0,
      event_watermark: Number.isFinite(processors[t].watermark) ? processors[t].watermark : null, idle: 0, worker: 'generator', updated_at: published, pipelines,
    })))
  }
  while (!options.signal.aborted && !done) {
    const until = Math.min(now(), options.until ?? Number.POSITIVE_INFINITY)
    let reachedNow = false
    for (let n = 0; n < 50_000; n++) {
      pending ??= options.generator.next()
      if (options.until !== undefined && pending.event.event.eventTime >= options.until) {
        done = true
        break
      }
      if (pending.event.event.eventTime > until) {
        reachedNow = true
        break
      }
      if (options.streams && !options.streams.includes(pending.type)) {
        pending = undefined
        continue
      }
      const p = processors[pending.type]
      p.handle({ offset: String(offsets[pending.type]++), key: Buffer.from(pending.key), value: jsonEncoder.encode(pending.event), headers: {}, timestamp: String(until) })
      pending = undefined
      total++
    }
    // One flush in flight per stream, overlapping with the generation and processing of the next
    // records (the same discipline as the Kafka worker).
    if (reachedNow || done) reached = Math.max(reached, until - policy.outOfOrdernessMs)
    for (const t of EVENT_TYPES) {
      await inflight[t]
      complete[t] = taken[t]
      const plan = processors[t].takeFlush()
      taken[t] = Math.max(processors[t].watermark, reached)
      inflight[t] = plan ? executor.execute(plan, commit) : undefined
    }
    await publish(false)
    if (reachedNow && !caughtUp) {
      caughtUp = true
      await Promise.all(Object.values(inflight))
      options.onCaughtUp?.()
    }
    if (done) break
    await sleep(options.intervalMs ?? 1000, options.signal)
  }
  await Promise.all(Object.values(inflight))
  for (const t of EVENT_TYPES) complete[t] = taken[t]
  await publish(true)
  return total
}

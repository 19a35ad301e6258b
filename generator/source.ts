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
      const p = processors[pending.type]
      p.handle({ offset: String(offsets[pending.type]++), key: Buffer.from(pending.key), value: jsonEncoder.encode(pending.event), headers: {}, timestamp: String(until) })
      pending = undefined
      total++
    }
    // One flush in flight per stream, overlapping with the generation and processing of the next
    // records (the same discipline as the Kafka worker).
    for (const t of EVENT_TYPES) {
      await inflight[t]
      const plan = processors[t].takeFlush()
      inflight[t] = plan ? executor.execute(plan, commit) : undefined
    }
    if (reachedNow && !caughtUp) {
      caughtUp = true
      await Promise.all(Object.values(inflight))
      options.onCaughtUp?.()
    }
    if (done) break
    await sleep(options.intervalMs ?? 1000, options.signal)
  }
  await Promise.all(Object.values(inflight))
  return total
}

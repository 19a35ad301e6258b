import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { EventType } from '../schemas/index.js'
import { eventFromRawFact, insertRows, onClusterClause, RAW_FACT_SELECT, RAW_TABLES, type ClickHouse } from '../sinks/index.js'
import { activity, gmv, heatmap, inventory, lifecycle, products } from './definitions/index.js'
import { CubeBuffer } from './runtime/cube-buffer.js'
import { EngineError, EngineErrorCode } from './runtime/errors.js'
import type { PipelineDefinition } from './runtime/pipeline.js'

/**
 * A windowed cube that can be rebuilt from the raw facts: its minute table (the pipeline writes
 * it) and the hour/day rollups its materialized views fill.
 */
export interface RebuildableCube {
  readonly name: string
  readonly pipeline: PipelineDefinition
  readonly minute: string
  readonly rollups: readonly string[]
}

const cube = (name: string, pipeline: PipelineDefinition, base: string): RebuildableCube => ({ name, pipeline, minute: `${base}_minute`, rollups: [`${base}_hour`, `${base}_day`] })

/**
 * The cubes `streamcube rebuild` knows. The per-order and per-batch state tables
 * (order_lifecycle, inventory_batches, inventory_stocktakes) are not windowed by event time, so
 * a time range does not delimit them: they are not rebuilt by range.
 */
export const REBUILDABLE: readonly RebuildableCube[] = [
  cube('gmv', gmv, 'gmv'),
  cube('activity', activity, 'activity'),
  cube('heatmap', heatmap, 'heatmap'),
  cube('products', products, 'products'),
  cube('complaints', lifecycle, 'complaints'),
  cube('inventory_movements', inventory, 'inventory_movements'),
]

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000

export interface RebuildOptions {
  readonly ch: ClickHouse
  readonly cube: string
  /** Epoch ms; widened to whole UTC days (the coarsest rollup) so that day rows stay whole. */
  readonly from: number
  readonly to: number
  /** The newest time that live pipelines can no longer change (now − lateness − out-of-orderness). */
  readonly closedBefore: number
  /** Rebuild a range that live pipelines may still write to. */
  readonly force?: boolean
  /** The cluster name in the cluster variant (deletes on the shard-local tables, ON CLUSTER). */
  readonly cluster?: string | null
  readonly log: Logger
}

export interface RebuildResult {
  readonly cube: string
  readonly from: number
  readonly to: number
  readonly events: number
  readonly rows: number
}

/** Looks a rebuildable cube up by name, or throws with the list of names. */
export function rebuildableCube(name: string): RebuildableCube {
  const c = REBUILDABLE.find((x) => x.name === name)
  if (!c) throw new EngineError(EngineErrorCode.UNKNOWN_CUBE, `unknown cube ${JSON.stringify(name)}; rebuildable cubes: ${REBUILDABLE.map((x) => x.name).join(', ')}`)
  return c
}

/**
 * Recomputes a cube over a time range from the raw fact tables, through the same pipeline code
 * that fills it live: deletes the range from the minute table and its rollups (synchronously),
 * then reads the raw facts hour by hour and inserts the minute rows, which feed the rollups.
 * The result equals what the live pipelines wrote, because the raw facts hold exactly the
 * accepted events (after deduplication and lateness) and every measure is a function of them.
 */
export async function rebuildCube(options: RebuildOptions): Promise<RebuildResult> {
  const { ch, log } = options
  const target = rebuildableCube(options.cube)
  if (!(options.from < options.to)) throw new EngineError(EngineErrorCode.INVALID_RANGE, '--from must be before --to')
  const from = Math.floor(options.from / DAY_MS) * DAY_MS
  const to = Math.ceil(options.to / DAY_MS) * DAY_MS
  if (to > options.closedBefore && !options.force) {
    throw new EngineError(
      EngineErrorCode.INVALID_RANGE,
      `the range reaches ${new Date(to).toISOString()}, after ${new Date(options.closedBefore).toISOString()}: live pipelines may still write there (allowed lateness). ` +
        'Stop the pipelines that write this cube, or pass --force, or choose an earlier --to',
    )
  }
  if (from !== options.from || to !== options.to) log.info({ from: new Date(from).toISOString(), to: new Date(to).toISOString() }, 'range widened to whole UTC days (the day rollup)')

  const sec = (ms: number) => Math.floor(ms / 1000)
  for (const table of [target.minute, ...target.rollups]) {
    const local = options.cluster ? `${table}_local${onClusterClause(options.cluster)}` : table
    await ch.client.command({
      query: `ALTER TABLE ${local} DELETE WHERE window_start >= toDateTime({from:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC')`,
      query_params: { from: sec(from), to: sec(to) },
      clickhouse_settings: { mutations_sync: '2' },
    })
    log.debug({ table }, 'range deleted')
  }

  const run = randomUUID().slice(0, 8)
  const sources = target.pipeline.sources as readonly EventType[]
  let events = 0
  let rows = 0
  for (let start = from; start < to; start += HOUR_MS) {
    const buffer = new CubeBuffer()
    for (const type of sources) {
      const result = await ch.client.query({
        query: `SELECT ${RAW_FACT_SELECT[type]} FROM ${RAW_TABLES[type]} WHERE event_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC') ORDER BY event_time, event_id`,
        query_params: { from: start, to: start + HOUR_MS },
        format: 'JSONEachRow',
      })
      for (const raw of await result.json<Record<string, unknown>>()) {
        target.pipeline.accumulate(eventFromRawFact(type, raw), buffer, { topic: RAW_TABLES[type], partition: 0, offset: '0' })
        events++
      }
    }
    const minuteRows = buffer.tables().get(target.minute) ?? []
    // A token per run and hour: a retried hour is not counted twice, a later rebuild is not dropped.
    await insertRows(ch, target.minute, minuteRows, { deduplicationToken: `rebuild/${run}/${target.minute}/${start}`, partialAggregates: true })
    rows += minuteRows.length
  }
  log.info({ cube: target.name, from: new Date(from).toISOString(), to: new Date(to).toISOString(), events, rows }, 'cube rebuilt')
  return { cube: target.name, from, to, events, rows }
}

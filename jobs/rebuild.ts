import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { EventType } from '../schemas/index.js'
import { onClusterClause, RAW_TABLES, type ClickHouse } from '../sinks/index.js'
import { CUBES, cubeTable } from '../queries/index.js'
import { JobError, JobErrorCode } from './errors.js'

/**
 * A windowed cube that can be rebuilt from the raw facts: its minute table (the pipeline writes
 * it) and the hour/day rollups its materialized views fill.
 */
export interface RebuildableCube {
  readonly name: string
  readonly minute: string
  readonly rollups: readonly string[]
}

/**
 * The cubes `streamcube rebuild` knows: every declared cube. The per-order and per-batch state
 * tables (order_lifecycle, inventory_batches, inventory_stocktakes) are not windowed by event
 * time, so a time range does not delimit them: they are not cubes and are not rebuilt by range.
 */
export const REBUILDABLE: readonly RebuildableCube[] = CUBES.map((c) => ({ name: c.name, minute: cubeTable(c, 'minute'), rollups: [cubeTable(c, 'hour'), cubeTable(c, 'day')] }))

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
  if (!c) throw new JobError(JobErrorCode.UNKNOWN_CUBE, `unknown cube ${JSON.stringify(name)}; rebuildable cubes: ${REBUILDABLE.map((x) => x.name).join(', ')}`)
  return c
}

/** `FROM <db>.<stream>_stream` in a view's stored query: where rebuild puts the raw facts instead. */
const STREAM_FROM = /FROM\s+(?:`?\w+`?\.)?`?(?:behaviour|order|inventory)_stream(?:_local)?`?/

interface StreamView {
  readonly name: string
  readonly stream: EventType
  readonly select: string
}

/**
 * The views that fill a minute table from the stream tables (sql/migrations/0008_stream_views.sql),
 * with their stored queries, read from the engine: rebuild runs exactly what the live path runs.
 */
async function viewsInto(ch: ClickHouse, minute: string): Promise<StreamView[]> {
  const rs = await ch.client.query({
    query: "SELECT name, as_select FROM system.tables WHERE database = currentDatabase() AND engine = 'MaterializedView' AND name LIKE {views:String} ORDER BY name",
    // On a cluster the shard-local views are <name>_local: the same prefix.
    query_params: { views: `${minute}\\_from\\_%` },
    format: 'JSONEachRow',
  })
  const views = (await rs.json<{ name: string; as_select: string }>()).map((v) => {
    const stream = /(behaviour|order|inventory)_stream/.exec(v.as_select)?.[1] as EventType | undefined
    if (!stream || !STREAM_FROM.test(v.as_select)) throw new JobError(JobErrorCode.UNKNOWN_CUBE, `view ${v.name} does not read a stream table; run \`streamcube migrate\``)
    return { name: v.name, stream, select: v.as_select }
  })
  if (views.length === 0) throw new JobError(JobErrorCode.UNKNOWN_CUBE, `no view fills ${minute} from the stream tables; run \`streamcube migrate\``)
  return views
}

/**
 * Recomputes a cube over a time range from the raw fact tables, through the same views that fill
 * it live: deletes the range from the minute table and its rollups (synchronously), then runs
 * each view's query over the raw facts hour by hour into the minute table, which feeds the
 * rollups. The result equals what the live pipelines wrote, because the raw facts hold exactly
 * the accepted events (after deduplication and lateness) and every measure is a function of them.
 */
export async function rebuildCube(options: RebuildOptions): Promise<RebuildResult> {
  const { ch, log } = options
  const target = rebuildableCube(options.cube)
  if (!(options.from < options.to)) throw new JobError(JobErrorCode.INVALID_RANGE, '--from must be before --to')
  const from = Math.floor(options.from / DAY_MS) * DAY_MS
  const to = Math.ceil(options.to / DAY_MS) * DAY_MS
  if (to > options.closedBefore && !options.force) {
    throw new JobError(
      JobErrorCode.INVALID_RANGE,
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
  const views = await viewsInto(ch, target.minute)
  let events = 0
  let rows = 0
  for (let start = from; start < to; start += HOUR_MS) {
    for (const view of views) {
      // The live view's own query over the raw facts of this hour instead of a flush's block: the
      // rebuilt rows are what the live pipeline built, by construction (one definition).
      const hour = `(SELECT *, toUInt64(18446744073709551615) AS pipes FROM ${RAW_TABLES[view.stream]} WHERE event_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC'))`
      const select = view.select.replace(STREAM_FROM, `FROM ${hour}`)
      // A token per run, hour and view: a retried hour is not counted twice, a later rebuild is not dropped.
      await ch.client.command({
        query: `INSERT INTO ${target.minute} ${select}`,
        query_params: { from: start, to: start + HOUR_MS },
        clickhouse_settings: { insert_deduplication_token: `rebuild/${run}/${view.name}/${start}`, insert_deduplicate: 1, deduplicate_blocks_in_dependent_materialized_views: 1, async_insert: 0 },
      })
    }
  }
  for (const type of new Set(views.map((v) => v.stream))) {
    const rs = await ch.client.query({
      query: `SELECT count() AS n FROM ${RAW_TABLES[type]} WHERE event_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`,
      query_params: { from, to },
      format: 'JSONEachRow',
    })
    events += Number((await rs.json<{ n: string }>())[0]?.n ?? 0)
  }
  const counted = await ch.client.query({
    query: `SELECT count() AS n FROM ${target.minute} WHERE window_start >= toDateTime({from:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC')`,
    query_params: { from: sec(from), to: sec(to) },
    format: 'JSONEachRow',
  })
  rows = Number((await counted.json<{ n: string }>())[0]?.n ?? 0)
  log.info({ cube: target.name, from: new Date(from).toISOString(), to: new Date(to).toISOString(), events, rows }, 'cube rebuilt')
  return { cube: target.name, from, to, events, rows }
}

import { PipelineError, PipelineErrorCode } from './errors.js'

/*
 * The windowed cubes, each declared once: its dimensions, measures, grains and TTLs. From a
 * declaration come its tables' names per grain, the SQL that reads a measure (sum or uniqMerge),
 * what `rebuild` rebuilds, and the DDL of a new cube (cubeMigration: the minute table, the hour
 * and day rollups and their views). tests/unit/pipelines/cubes.test.ts holds every declaration
 * equal to the DDL that sql/migrations/0002_cubes.sql applied.
 */

const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000

/** Cube grains, finest first, with the table suffix and the bucket length. */
export const GRAINS = [
  { name: 'minute', ms: MINUTE },
  { name: 'hour', ms: HOUR },
  { name: 'day', ms: DAY },
] as const
export type Grain = (typeof GRAINS)[number]['name']

/**
 * How a measure aggregates: `sum` is a SimpleAggregateFunction(sum, UInt64) (read with sum()),
 * `uniq` an AggregateFunction(uniq, String) state (read with uniqMerge(), rolled up with uniqMergeState()).
 */
export type MeasureKind = 'sum' | 'uniq'

export interface CubeDeclaration {
  /** The table base name: `<name>_minute`, `<name>_hour`, `<name>_day`. */
  readonly name: string
  /** One line: what the cube counts, by what (the migration's comment). */
  readonly description: string
  /** Columns and ClickHouse types, in sort-key order (window_start comes last in the key). */
  readonly dimensions: readonly (readonly [column: string, type: string])[]
  /**
   * Measures in column order. A measure added after the cube's first migration names the
   * migration that added it (`since`): that migration holds addedMeasuresMigration's text, its
   * ADD COLUMNs and the rollup views' queries of the whole declaration (MODIFY QUERY).
   */
  readonly measures: readonly (readonly [column: string, kind: MeasureKind, since?: number])[]
  /** The sharding key of the cluster variant's Distributed tables. */
  readonly shardKey: string
  /** Days each grain's rows are kept. */
  readonly ttlDays: Readonly<Record<Grain, number>>
  /**
   * Distinct counts also kept exactly, as a sum: `orders: { sum: 'paid_orders', splitBy: 'category_id' }`
   * says each order is counted once in paid_orders (on the row of its first line), so a read
   * that neither filters nor groups by category_id counts orders exactly with sum(paid_orders),
   * several times faster than merging the `uniq` states (which are approximate above 65,536
   * values). A read split by that dimension needs the states: an order's lines span categories.
   */
  readonly exactCounts?: Readonly<Record<string, { readonly sum: string; readonly splitBy: string }>>
}

const TTL = { minute: 30, hour: 400, day: 1830 } as const
const LC = 'LowCardinality(String)'

export const GMV_CUBE: CubeDeclaration = {
  name: 'gmv',
  description: 'GMV by community, group leader and category (paid orders; refunds allocated over categories in exact cents).',
  dimensions: [['community_id', LC], ['leader_id', LC], ['category_id', LC]],
  // paid_orders: each paid order once, on the row of its first line's category (migration 13).
  measures: [['gmv_cents', 'sum'], ['items', 'sum'], ['orders', 'uniq'], ['paying_users', 'uniq'], ['refund_cents', 'sum'], ['refunded_orders', 'uniq'], ['cancelled_orders', 'uniq'], ['paid_orders', 'sum', 13]],
  shardKey: 'community_id',
  ttlDays: TTL,
  exactCounts: { orders: { sum: 'paid_orders', splitBy: 'category_id' } },
}

export const ACTIVITY_CUBE: CubeDeclaration = {
  name: 'activity',
  description: 'Activity by community and action (view, search, cart_add, cart_remove, favourite, share, order).',
  dimensions: [['community_id', LC], ['action', LC]],
  measures: [['events', 'sum'], ['users', 'uniq']],
  shardKey: 'community_id',
  ttlDays: TTL,
}

export const HEATMAP_CUBE: CubeDeclaration = {
  name: 'heatmap',
  description: 'Geo activity by geohash cell (precision 5, 6, 7; geohashEncode(lon, lat, p) in SQL) and community.',
  dimensions: [['precision', 'UInt8'], ['cell', 'String'], ['community_id', LC]],
  measures: [['orders', 'sum'], ['gmv_cents', 'sum'], ['users', 'uniq']],
  shardKey: 'cell',
  ttlDays: TTL,
}

export const PRODUCTS_CUBE: CubeDeclaration = {
  name: 'products',
  description: 'Product sales by community, sku and category (paid orders), for TOP-N rankings.',
  dimensions: [['community_id', LC], ['sku', 'String'], ['category_id', LC]],
  // orders: distinct orders per sku and window (an order with the sku on two lines counts once);
  // order_ids: their uniq states, for a set of skus (a campaign counts each order once).
  measures: [['qty', 'sum'], ['gmv_cents', 'sum'], ['orders', 'sum'], ['order_ids', 'uniq', 9]],
  shardKey: 'community_id',
  ttlDays: TTL,
}

export const COMPLAINTS_CUBE: CubeDeclaration = {
  name: 'complaints',
  description: 'Complaints by community, group leader and reason.',
  dimensions: [['community_id', LC], ['leader_id', LC], ['reason', LC]],
  measures: [['complaints', 'sum']],
  shardKey: 'community_id',
  ttlDays: TTL,
}

export const INVENTORY_MOVEMENTS_CUBE: CubeDeclaration = {
  name: 'inventory_movements',
  description: 'Inventory movements by warehouse, sku and kind (receipt, sale, loss, stocktake), for turnover.',
  dimensions: [['warehouse_id', LC], ['community_id', LC], ['sku', 'String'], ['kind', LC]],
  measures: [['qty', 'sum'], ['events', 'sum']],
  shardKey: 'warehouse_id',
  ttlDays: TTL,
}

/** Every windowed cube (the per-order and per-batch state tables are not cubes: no time window). */
export const CUBES: readonly CubeDeclaration[] = [GMV_CUBE, ACTIVITY_CUBE, HEATMAP_CUBE, PRODUCTS_CUBE, COMPLAINTS_CUBE, INVENTORY_MOVEMENTS_CUBE]

/** The table of a cube at a grain. */
export function cubeTable(cube: CubeDeclaration, grain: Grain): string {
  return `${cube.name}_${grain}`
}

function kindOf(cube: CubeDeclaration, measure: string): MeasureKind {
  const m = cube.measures.find(([name]) => name === measure)
  if (!m) throw new PipelineError(PipelineErrorCode.UNKNOWN_MEASURE, `cube ${cube.name} has no measure ${measure}; it has ${cube.measures.map(([n]) => n).join(', ')}`)
  return m[1]
}

/**
 * The SQL that reads a measure over the rows of a group (`sum(gmv_cents)`, `uniqMerge(orders)`),
 * or over the rows where `condition` holds (`sumIf(gmv_cents, cur)`, `uniqMergeIf(orders, cur)`).
 * `exact`: a distinct count the cube also keeps as a sum (exactCounts) reads that sum — only for
 * reads whose rows all carry it and that do not split it (ReportQueries.exactCounts decides).
 */
export function measureSql(cube: CubeDeclaration, measure: string, condition?: string, exact = false): string {
  const column = (exact && cube.exactCounts?.[measure]?.sum) || measure
  const fn = kindOf(cube, column) === 'sum' ? 'sum' : 'uniqMerge'
  return condition === undefined ? `${fn}(${column})` : `${fn}If(${column}, ${condition})`
}

/** A select list of measures, each aliased to its name with `prefix` (never the bare column: a state must not be shadowed). */
export function measureList(cube: CubeDeclaration, measures: readonly string[] = cube.measures.map(([m]) => m), options: { prefix?: string; condition?: string; exact?: boolean } = {}): string {
  return measures.map((m) => `${measureSql(cube, m, options.condition, options.exact)} AS ${options.prefix ?? ''}${m}`).join(', ')
}

/** The names of a cube's measures, in declaration order. */
export const measureNames = (cube: CubeDeclaration): string[] => cube.measures.map(([m]) => m)

const COLUMN_TYPE: Record<MeasureKind, string> = { sum: 'SimpleAggregateFunction(sum, UInt64)', uniq: 'AggregateFunction(uniq, String)' }
const ROLLUP: Record<MeasureKind, (c: string) => string> = { sum: (c) => `sum(${c})`, uniq: (c) => `uniqMergeState(${c})` }
const START_OF: Record<Exclude<Grain, 'minute'>, string> = { hour: 'toStartOfHour', day: 'toStartOfDay' }

function tableDdl(cube: CubeDeclaration, grain: Grain): string {
  const table = cubeTable(cube, grain)
  const columns = ["window_start DateTime('UTC')", ...cube.dimensions.map(([c, t]) => `${c} ${t}`), ...cube.measures.map(([c, k]) => `${c} ${COLUMN_TYPE[k]}`)]
  const key = [...cube.dimensions.map(([c]) => c), 'window_start'].join(', ')
  return `CREATE TABLE IF NOT EXISTS {{LOCAL ${table}}}{{ON_CLUSTER}}
(
${columns.map((c) => `    ${c}`).join(',\n')}
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (${key})
TTL window_start + INTERVAL ${cube.ttlDays[grain]} DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED ${table} ${cube.shardKey}}};
`
}

function rollupViewDdl(cube: CubeDeclaration, grain: Exclude<Grain, 'minute'>): string {
  const table = cubeTable(cube, grain)
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL ${table}_mv}}{{ON_CLUSTER}} TO {{LOCAL ${table}}} AS\n${rollupQuery(cube, grain)};\n`
}

/** The query of a rollup view: the minute table's rows summed (or their states merged) into the grain's windows. */
export function rollupQuery(cube: CubeDeclaration, grain: Exclude<Grain, 'minute'>): string {
  const dims = cube.dimensions.map(([c]) => c)
  const select = [`${START_OF[grain]}(window_start) AS window_start`, ...dims, ...cube.measures.map(([c, k]) => `${ROLLUP[k](c)} AS ${c}`)]
  return `SELECT
${select.map((c) => `    ${c}`).join(',\n')}
FROM {{LOCAL ${cubeTable(cube, 'minute')}}}
GROUP BY ${['window_start', ...dims].join(', ')}`
}

/**
 * A migration's text for measures added to a cube: their ADD COLUMNs at every grain, then the
 * rollup views' new queries (ALTER … MODIFY QUERY: a view is never absent while workers insert).
 * The view that fills the minute table from a stream is the migration's own to change.
 */
export function addedMeasuresMigration(cube: CubeDeclaration, measures: readonly string[]): string {
  const grains = ['hour', 'day'] as const
  return [
    ...measures.map((m) => addedMeasureDdl(cube, m)),
    ...grains.map((g) => `ALTER TABLE {{LOCAL ${cubeTable(cube, g)}_mv}}{{ON_CLUSTER}} MODIFY QUERY\n${rollupQuery(cube, g)};\n`),
  ].join('\n')
}

/**
 * A cube's migration text (the tokens are the migration runner's: {{LOCAL}}, {{ON_CLUSTER}},
 * {{DISTRIBUTED}}): the minute table the pipeline's views fill, and each rollup with the view that
 * fills it. A new cube's migration starts from this, then adds the views from the stream tables.
 */
export function cubeMigration(cube: CubeDeclaration): string {
  if (cube.measures.some(([, , since]) => since !== undefined)) return cubeMigration(asFirstMigrated(cube))
  return [
    `-- ${cube.name}: ${cube.description}\n${tableDdl(cube, 'minute')}`,
    tableDdl(cube, 'hour'),
    rollupViewDdl(cube, 'hour'),
    tableDdl(cube, 'day'),
    rollupViewDdl(cube, 'day'),
  ].join('\n')
}

/** The declaration as its first migration created it: without the measures added since. */
function asFirstMigrated(cube: CubeDeclaration): CubeDeclaration {
  return { ...cube, measures: cube.measures.filter(([, , since]) => since === undefined) }
}

/** The ADD COLUMN statements of a measure added to a cube, one per grain. */
function addedMeasureDdl(cube: CubeDeclaration, measure: string): string {
  const kind = kindOf(cube, measure)
  return GRAINS.map(({ name }) => {
    const table = cubeTable(cube, name)
    const column = `${measure} ${COLUMN_TYPE[kind]}`
    return `ALTER TABLE {{LOCAL ${table}}}{{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS ${column};\n{{DISTRIBUTED_ADD_COLUMN ${table} ${column}}};\n`
  }).join('')
}

import { cubeTable, GRAINS, type CubeDeclaration, type Grain } from '../pipelines/index.js'
import { bound } from './grain.js'

const GRAIN_MS = Object.fromEntries(GRAINS.map((g) => [g.name, g.ms])) as Record<Grain, number>
const HOUR = GRAIN_MS.hour
const DAY = GRAIN_MS.day
/** The grains a read may use, finest first, up to the coarsest allowed. */
const ALLOWED: Record<Grain, Grain[]> = { minute: ['minute'], hour: ['minute', 'hour'], day: ['minute', 'hour', 'day'] }

/** [from, to) in milliseconds. */
type Span = readonly [from: number, to: number]

/**
 * Cuts [from, to) into the coarsest cube buckets that cover it exactly (UTC): whole days from the
 * day rollup, the whole hours around them from the hour rollup, the minutes at the edges from the
 * minute cube; nothing coarser than `coarsest` (a series by hour must not read day rows).
 */
export function splitByGrain(from: number, to: number, coarsest: Grain): Record<Grain, Span[]> {
  const out: Record<Grain, Span[]> = { minute: [], hour: [], day: [] }
  const add = (g: Grain, a: number, b: number) => a < b && out[g].push([a, b])
  const levels = ALLOWED[coarsest]
  let a = from
  let b = to
  let level = 0
  // Peel the edges at each grain off until no whole bucket of the next coarser one lies inside.
  for (; level + 1 < levels.length; level++) {
    const size = GRAIN_MS[levels[level + 1] as Grain]
    const [lo, hi] = [Math.ceil(a / size) * size, Math.floor(b / size) * size]
    if (lo >= hi) break
    add(levels[level] as Grain, a, lo)
    add(levels[level] as Grain, hi, b)
    a = lo
    b = hi
  }
  add(levels[level] as Grain, a, b)
  return out
}

export interface RangeOptions {
  /** The instant the minute cubes' retention counts back from (default: now). */
  readonly now?: number
  /**
   * Compose the whole range, not only what lies before the retention: for a report whose cost
   * is its rows rather than its distinct-count states (the heatmap decodes every row's cell:
   * 3.5× fewer rows in the hour rollup, 21–25 against 28–55 ms over 24 hours, bench/README.md).
   */
  readonly compose?: boolean
}

/** Spans a grain can contribute per interval: two edges of minutes, two of hours, one run of days. */
const SLOTS: Record<Grain, number> = { minute: 2, hour: 2, day: 1 }

/**
 * A cube's rows over consecutive intervals (cut points `cuts`: [a, b) and [b, c) for a report's
 * previous and current periods, so no bucket straddles b). Within the minute cubes' retention
 * (30 days) that is one table, the coarsest grain every cut falls on. What lies before it is
 * composed from the coarsest grains that answer each interval exactly (the rest is read from the
 * grain its own ends fall on, cut at the retention's horizon): 10:07 on a day 40
 * days ago to 10:33 the next day reads minutes 10:07–11:00, hours 11:00–00:00 and 00:00–10:00,
 * minutes 10:00–10:33. A single table there was the minute cube — whose rows of those days the
 * TTL has deleted: the report answered zeros. The buckets read are the same either way: every
 * bucket whose start lies in the range, once (only minute edges older than the retention are gone;
 * see previousStart in api/reports/sales.ts).
 *
 * As a query parameter (ReportQueries.rows) it replaces `{name:Identifier}` by a UNION ALL of the
 * tables it needs, with its bounds bound as parameters: the SQL text depends only on the cube, the
 * coarsest grain and the number of intervals, never on the values.
 */
export class CubeRange {
  readonly grains: readonly Grain[]
  /** The one table that answers the range (every cut on its buckets, within its retention), or null: composed. */
  readonly single: string | null
  private readonly spans: Record<Grain, Span[]> = { minute: [], hour: [], day: [] }

  constructor(
    readonly cube: CubeDeclaration,
    readonly cuts: readonly number[],
    coarsest: Grain = 'day',
    { now = Date.now(), compose = false }: RangeOptions = {},
  ) {
    this.grains = ALLOWED[coarsest]
    this.single = null
    // Within the minute cubes' retention one table answers each interval: the coarsest grain its
    // ends fall on. Composing is not faster there on the benchmark's city (bench/README.md, issue
    // 20): rollup rows hold larger distinct-count states, which cost what the minute rows' do to
    // merge, and the union costs a few milliseconds of its own. So only what lies before the
    // retention's horizon (on the hour) is composed.
    const horizon = compose ? Infinity : Math.ceil((now - cube.ttlDays.minute * DAY) / HOUR) * HOUR
    const aligned = (ends: readonly number[]) => [...this.grains].reverse().find((g) => ends.every((c) => c % GRAIN_MS[g] === 0)) ?? 'minute'
    if ((cuts[0] as number) >= horizon) {
      this.single = cubeTable(cube, aligned(cuts))
      return
    }
    const points = [...cuts]
    const last = points.at(-1) as number
    if (horizon < last && !points.includes(horizon)) points.splice(points.findIndex((c) => c > horizon), 0, horizon)
    for (let i = 0; i + 1 < points.length; i++) {
      const [a, b] = [points[i] as number, points[i + 1] as number]
      const parts = a >= horizon ? { minute: [], hour: [], day: [], [aligned([a, b])]: [[a, b]] } : splitByGrain(a, b, coarsest)
      for (const g of this.grains) {
        const list = parts[g] as Span[]
        // Fixed slots per interval keep the SQL text fixed; unused ones are empty ranges.
        for (let s = 0; s < SLOTS[g]; s++) this.spans[g].push(list[s] ?? [0, 0])
      }
    }
  }

  /** The tables that hold rows of the range, coarsest first (`gmv_day+gmv_hour+gmv_minute`). */
  get tables(): string {
    if (this.single) return this.single
    return [...this.grains].reverse().filter((g) => this.spans[g].some(([a, b]) => a < b)).map((g) => cubeTable(this.cube, g)).join('+')
  }

  /** The FROM expression for parameter `name`, and the parameters it binds. */
  sql(name: string): { sql: string; params: Record<string, number> } {
    if (this.single) return { sql: this.single, params: {} }
    const params: Record<string, number> = {}
    const branches = this.grains.map((g) => {
      const conditions = this.spans[g].map(([a, b], i) => {
        const key = `${name}_${g[0]}${i}`
        params[`${key}_f`] = a < b ? bound(a) : 0
        params[`${key}_t`] = a < b ? bound(b) : 0
        return `(window_start >= toDateTime({${key}_f:UInt32}, 'UTC') AND window_start < toDateTime({${key}_t:UInt32}, 'UTC'))`
      })
      return `SELECT * FROM ${cubeTable(this.cube, g)} WHERE ${conditions.join(' OR ')}`
    })
    return { sql: `(${branches.join(' UNION ALL ')})`, params }
  }
}

/** The cube's rows over [from, to) (a CubeRange of one interval). */
export function cubeRange(cube: CubeDeclaration, from: number, to: number, coarsest: Grain = 'day', options: RangeOptions = {}): CubeRange {
  return new CubeRange(cube, [from, to], coarsest, options)
}

import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { ACTIVITY_CUBE, cubeRange, geohashBounds, GMV_CUBE, HEATMAP_CUBE, measureList, type HEATMAP_PRECISIONS } from '../../queries/index.js'
import { validTimeZone } from '../../schemas/index.js'
import { getReport } from './context.js'
import { ActivityResponse, HeatmapResponse, TimeOfDayResponse } from './responses.js'
import { Filters, Granularity, STEP_MS, TimeRange, bucketStarts, localHourGrain, resolveRange, bound } from './params.js'
import { COMMUNITY_SCOPE, RANGE, filterOn, num } from './query.js'
import { seriesGranularity } from './sales.js'

/*
 * Activity (active users, events by action, the view → cart → order funnel), the geo heatmap and
 * time-of-day curves: the reports that read the activity, heatmap and gmv cubes by community.
 */

const ActivityQuery = z
  .object({ ...TimeRange.shape, community: Filters.shape.community, granularity: Granularity.optional().describe('series step; default by range') })
  .transform((q, ctx) => {
    const range = resolveRange(q, Date.now(), ctx)
    return { ...q, ...range, granularity: seriesGranularity({ ...q, ...range }, ctx) }
  })

const BY_ACTION = `
  SELECT action, ${measureList(ACTIVITY_CUBE)}
  FROM {table:Identifier} WHERE ${RANGE} AND ${COMMUNITY_SCOPE} AND ${filterOn('f_community', 'community_id')}
  GROUP BY ROLLUP(action) ORDER BY action`

const ACTIVE_SERIES = `
  SELECT toUnixTimestamp(toStartOfInterval(window_start, toIntervalSecond({step:UInt32}))) AS t, ${measureList(ACTIVITY_CUBE)}
  FROM {table:Identifier} WHERE ${RANGE} AND ${COMMUNITY_SCOPE} AND ${filterOn('f_community', 'community_id')}
  GROUP BY t ORDER BY t`

/** The funnel steps, as the activity cube names their actions. */
export const FUNNEL = ['view', 'cart_add', 'order'] as const

/** zoom (web map, 0-20) → geohash precision: a precision-5 cell is ≈ 4.9 km, 6 ≈ 1.2 km, 7 ≈ 150 m. */
export function precisionForZoom(zoom: number): (typeof HEATMAP_PRECISIONS)[number] {
  if (zoom <= 12) return 5
  if (zoom <= 14) return 6
  return 7
}

const BBox = z
  .string()
  .transform((s) => s.split(',').map(Number))
  .pipe(
    z
      .tuple([z.number().min(-180).max(180), z.number().min(-90).max(90), z.number().min(-180).max(180), z.number().min(-90).max(90)], { message: 'expected minLon,minLat,maxLon,maxLat' })
      .refine(([a, b, c, d]) => a < c && b < d, 'min must be below max (minLon,minLat,maxLon,maxLat)'),
  )
  .describe('bounding box: minLon,minLat,maxLon,maxLat (WGS 84)')

const HeatmapQuery = z
  .object({
    ...TimeRange.shape,
    community: Filters.shape.community,
    bbox: BBox,
    zoom: z.coerce.number().int().min(0).max(22).default(12).describe('map zoom; picks the cell resolution'),
    metric: z.enum(['orders', 'gmv', 'users']).default('orders'),
    format: z.enum(['cells', 'geojson']).default('cells'),
    limit: z.coerce.number().int().min(1).max(10_000).default(2_000),
  })
  .transform((q, ctx) => ({ ...q, ...resolveRange(q, Date.now(), ctx) }))

const HEATMAP = `
  SELECT cell, ${measureList(HEATMAP_CUBE)}
  FROM {table:Identifier}
  WHERE precision = {precision:UInt8} AND ${RANGE} AND ${COMMUNITY_SCOPE} AND ${filterOn('f_community', 'community_id')}
    AND (geohashDecode(cell) AS ll).1 >= {min_lon:Float64} AND ll.1 <= {max_lon:Float64}
    AND ll.2 >= {min_lat:Float64} AND ll.2 <= {max_lat:Float64}
  GROUP BY cell
  ORDER BY multiIf({metric:String} = 'gmv', gmv_cents, {metric:String} = 'users', users, orders) DESC, cell
  LIMIT {limit:UInt32}`

const TimeOfDayQuery = z
  .object({
    ...TimeRange.shape,
    community: Filters.shape.community,
    category: Filters.shape.category,
    tz: z.string().refine(validTimeZone, 'not an IANA time zone (e.g. Asia/Shanghai)').optional().describe('local time zone of the curves; default API_TIMEZONE'),
  })
  .transform((q, ctx) => ({ ...q, ...resolveRange(q, Date.now(), ctx, 28 * 86_400_000) }))

const TIME_OF_DAY = (exact: boolean) => `
  SELECT toDayOfWeek(window_start, 0, {tz:String}) >= 6 AS weekend, toHour(window_start, {tz:String}) AS hour,
         ${measureList(GMV_CUBE, ['orders', 'gmv_cents'], { exact })}
  FROM {table:Identifier} WHERE ${RANGE} AND ${COMMUNITY_SCOPE} AND ${filterOn('f_community', 'community_id')} AND ${filterOn('f_category', 'category_id')}
  GROUP BY weekend, hour`

/** Local weekdays and weekend days in [from, to) (a day counts when any of its hours is in range). */
export function dayKinds(from: number, to: number, tz: string): { weekdays: number; weekend_days: number } {
  const fmt = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', weekday: 'short' })
  const seen = new Map<string, boolean>()
  for (let t = from; t < to; t += 3_600_000) {
    const parts = fmt.formatToParts(t)
    const day = parts.filter((p) => p.type !== 'weekday').map((p) => p.value).join('')
    const wd = parts.find((p) => p.type === 'weekday')?.value
    seen.set(day, wd === 'Sat' || wd === 'Sun')
  }
  let weekend = 0
  for (const w of seen.values()) if (w) weekend++
  return { weekdays: seen.size - weekend, weekend_days: weekend }
}

export const activityRoutes: FastifyPluginAsync = async (app) => {
  getReport(app, '/v1/activity', { access: { roles: ['admin', 'analyst', 'leader'], reads: 'community activity', filters: { community: 'community' } }, response: ActivityResponse, tags: ['reports'], summary: 'Activity: active users (distinct), events by action, the view → cart → order funnel, a series', querystring: ActivityQuery }, ({ query: q, scope }, ctx) => {
    return { covers: q, compute: async () => {
      const base = { ...scope, f_community: q.community ?? [], from: bound(q.from), to: bound(q.to) }
      const step = STEP_MS[q.granularity]
      const [actions, series] = await Promise.all([
        ctx.queries.rows<Record<string, unknown>>(BY_ACTION, { ...base, table: cubeRange(ACTIVITY_CUBE, q.from, q.to) }),
        ctx.queries.rows<Record<string, unknown>>(ACTIVE_SERIES, { ...base, table: cubeRange(ACTIVITY_CUBE, q.from, q.to, q.granularity), step: step / 1000 }),
      ])
      const total = actions.find((r) => r.action === '')
      const byAction = actions.filter((r) => r.action !== '').map((r) => ({ action: String(r.action), events: num(r.events), users: num(r.users) }))
      const users = (a: string) => byAction.find((r) => r.action === a)?.users ?? 0
      const [view, cart, order] = FUNNEL.map(users) as [number, number, number]
      const steps = FUNNEL.map((a) => ({ step: a, users: users(a) }))
      const points = new Map(series.map((r) => [num(r.t) * 1000, r]))
      return {
        range: { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString() },
        active_users: num(total?.users),
        events: num(total?.events),
        actions: byAction,
        funnel: {
          steps,
          view_to_cart: view ? cart / view : null,
          cart_to_order: cart ? order / cart : null,
          view_to_order: view ? order / view : null,
        },
        series: {
          granularity: q.granularity,
          points: bucketStarts(q.from, q.to, step).map((ts) => ({ t: new Date(ts).toISOString(), active_users: num(points.get(ts)?.users), events: num(points.get(ts)?.events) })),
        },
      }
    } }
  })

  getReport(app, '/v1/heatmap', { access: { roles: ['admin', 'analyst', 'leader'], reads: 'the heatmap', filters: { community: 'community' } }, response: HeatmapResponse, tags: ['reports'], summary: 'Heatmap: orders, GMV and active users per geohash cell in a bounding box, resolution from the zoom; cells or GeoJSON', querystring: HeatmapQuery }, ({ query: q, scope }, ctx) => {
    const precision = precisionForZoom(q.zoom)
    return { covers: q, compute: async () => {
      const [minLon, minLat, maxLon, maxLat] = q.bbox
      const rows = await ctx.queries.rows<Record<string, unknown>>(HEATMAP, {
        ...scope, f_community: q.community ?? [], from: bound(q.from), to: bound(q.to), table: cubeRange(HEATMAP_CUBE, q.from, q.to, 'day', { compose: true }),
        precision, min_lon: minLon, min_lat: minLat, max_lon: maxLon, max_lat: maxLat, metric: q.metric, limit: q.limit + 1,
      })
      const truncated = rows.length > q.limit
      const cells = rows.slice(0, q.limit).map((r) => {
        const cell = String(r.cell)
        const [w, s, e, n] = geohashBounds(cell)
        return { cell, lat: (s + n) / 2, lon: (w + e) / 2, bounds: [w, s, e, n] as [number, number, number, number], orders: num(r.orders), gmv_cents: num(r.gmv_cents), users: num(r.users) }
      })
      const meta = { range: { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString() }, precision, metric: q.metric, truncated }
      if (q.format === 'cells') return { ...meta, cells }
      return {
        type: 'FeatureCollection',
        ...meta,
        features: cells.map(({ bounds: [w, s, e, n], ...c }) => ({
          type: 'Feature',
          geometry: { type: 'Polygon', coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] },
          properties: c,
        })),
      }
    } }
  })

  getReport(app, '/v1/time-of-day', { access: { roles: ['admin', 'analyst', 'leader'], reads: 'time-of-day patterns', filters: { community: 'community' } }, response: TimeOfDayResponse, tags: ['reports'], summary: 'Time-of-day patterns: orders and GMV per local hour of day, weekday vs weekend (totals and per-day averages)', querystring: TimeOfDayQuery }, ({ query: q, scope }, ctx) => {
    const tz = q.tz ?? ctx.config.api.timezone
    const coarsest = localHourGrain(tz, q.from, q.to, ctx.now())
    return { covers: q, compute: async () => {
      const exact = await ctx.queries.exactCounts(GMV_CUBE, 'orders', q.from, q.category?.length ? ['category_id'] : [])
      const rows = await ctx.queries.rows<Record<string, unknown>>(TIME_OF_DAY(exact), {
        ...scope, f_community: q.community ?? [], f_category: q.category ?? [], from: bound(q.from), to: bound(q.to), tz,
        table: cubeRange(GMV_CUBE, q.from, q.to, coarsest),
      })
      const days = dayKinds(q.from, q.to, tz)
      const curve = (weekend: boolean) => {
        const n = weekend ? days.weekend_days : days.weekdays
        return Array.from({ length: 24 }, (_, hour) => {
          const r = rows.find((x) => num(x.hour) === hour && Boolean(num(x.weekend)) === weekend)
          const orders = num(r?.orders)
          const gmv = num(r?.gmv_cents)
          return { hour, orders, gmv_cents: gmv, orders_per_day: n ? orders / n : null, gmv_cents_per_day: n ? gmv / n : null }
        })
      }
      return { range: { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString() }, tz, ...days, weekday: curve(false), weekend: curve(true) }
    } }
  })
}

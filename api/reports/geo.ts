import { readFileSync } from 'node:fs'
import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { ConfigError, ConfigErrorCode } from '../../schemas/index.js'
import { getReport } from './context.js'
import { COMMUNITY_SCOPE, num } from './query.js'

/*
 * The heatmap's geographic frame: district outlines and community points, so cells read as places.
 * From API_GEO_FRAME_FILE (a GeoJSON FeatureCollection: Polygon features named by
 * properties.name, Point features keyed by properties.community_id; `npm start` writes the
 * generated city's); without it, or for a community the file does not place, a community's point
 * is the order-weighted centre of its delivery cells over the last 30 days (heatmap_day cube).
 * A key scoped to communities gets only its own points; districts are public geography.
 */

const Position = z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)])
const FrameFeature = z
  .object({
    type: z.literal('Feature'),
    geometry: z.discriminatedUnion('type', [
      z.object({ type: z.literal('Polygon'), coordinates: z.array(z.array(Position).min(4)).min(1) }),
      z.object({ type: z.literal('Point'), coordinates: Position }),
    ]),
    properties: z.object({ name: z.string().min(1).optional(), community_id: z.string().min(1).optional() }).passthrough(),
  })
  .superRefine((f, ctx) => {
    if (f.geometry.type === 'Polygon' && !f.properties.name) ctx.addIssue({ code: 'custom', path: ['properties', 'name'], message: 'a district polygon needs a name' })
    if (f.geometry.type === 'Point' && !f.properties.community_id) ctx.addIssue({ code: 'custom', path: ['properties', 'community_id'], message: 'a community point needs its community_id' })
  })
const FrameFile = z.object({ type: z.literal('FeatureCollection'), features: z.array(FrameFeature) })

export interface FrameDistrict { readonly name: string; readonly outline: readonly (readonly [number, number])[] }
export interface FramePoint { readonly community_id: string; readonly name: string | null; readonly lon: number; readonly lat: number; readonly source: 'file' | 'orders' }

/** Reads and checks the frame file; a bad one stops start-up with what is wrong. */
export function loadGeoFrame(file: string | null): { districts: FrameDistrict[]; points: FramePoint[] } {
  if (!file) return { districts: [], points: [] }
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError(ConfigErrorCode.INVALID, [`API_GEO_FRAME_FILE (${file}) cannot be read as JSON (${(err as Error).message}): point it at a GeoJSON FeatureCollection, or unset it`])
  }
  const parsed = FrameFile.safeParse(json)
  if (!parsed.success) {
    throw new ConfigError(ConfigErrorCode.INVALID, parsed.error.issues.slice(0, 5).map((i) => `API_GEO_FRAME_FILE (${file}) at ${i.path.join('.')}: ${i.message}: districts are Polygon features with properties.name, communities Point features with properties.community_id`))
  }
  const districts: FrameDistrict[] = []
  const points: FramePoint[] = []
  for (const f of parsed.data.features) {
    if (f.geometry.type === 'Polygon') districts.push({ name: String(f.properties.name), outline: f.geometry.coordinates[0] as [number, number][] })
    else points.push({ community_id: String(f.properties.community_id), name: f.properties.name ?? null, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1], source: 'file' })
  }
  return { districts, points }
}

const CENTRES = `
  SELECT community_id, sum(orders) AS n, sum(orders * (geohashDecode(cell) AS ll).1) / n AS lon, sum(orders * ll.2) / n AS lat
  FROM heatmap_day
  WHERE precision = 7 AND window_start >= toStartOfDay(now() - INTERVAL 30 DAY) AND ${COMMUNITY_SCOPE}
    AND NOT has({placed:Array(String)}, community_id)
  GROUP BY community_id HAVING n > 0 ORDER BY community_id`

const GeoFrameResponse = z.strictObject({
  districts: z.array(z.strictObject({ name: z.string(), outline: z.array(z.tuple([z.number(), z.number()])).describe('[lon, lat] ring, closed') })),
  communities: z.array(z.strictObject({ community_id: z.string(), name: z.string().nullable(), lon: z.number(), lat: z.number(), source: z.enum(['file', 'orders']).describe('placed by the frame file, or at the centre of its orders') })),
})

export function geoRoutes(file: string | null): FastifyPluginAsync {
  const frame = loadGeoFrame(file)
  return async (app) => {
    getReport(app, '/v1/geo/frame', { access: { roles: ['admin', 'analyst', 'leader'], reads: 'the map frame' }, response: GeoFrameResponse, tags: ['reports'], summary: 'The map frame of the heatmap: district outlines and community points' }, ({ scope }, ctx) => {
      return { covers: null, compute: async () => {
        const inScope = (id: string) => scope.scope_all_communities === 1 || scope.scope_communities.includes(id)
        const placed = frame.points.filter((p) => inScope(p.community_id))
        // Only communities the file does not place are looked for in the orders; a scope the file
        // places whole (a leader's communities, say) needs no query at all.
        const known = new Set(placed.map((p) => p.community_id))
        const placedWhole = scope.scope_all_communities !== 1 && scope.scope_communities.every((id) => known.has(id))
        const centres = placedWhole ? [] : await ctx.queries.rows<Record<string, unknown>>(CENTRES, { ...scope, placed: [...known] })
        const fromOrders = centres
          .map((r): FramePoint => ({ community_id: String(r.community_id), name: null, lon: num(r.lon), lat: num(r.lat), source: 'orders' }))
        return { districts: frame.districts.map((d) => ({ name: d.name, outline: d.outline.map(([x, y]) => [x, y] as [number, number]) })), communities: [...placed, ...fromOrders] }
      } }
    })
  }
}

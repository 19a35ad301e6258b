import type { World } from './world.js'

/**
 * The generated city as a map frame (GeoJSON, WGS 84, [lon, lat]): its districts as polygons and
 * its communities as points — what the API's heatmap is drawn on (API_GEO_FRAME_FILE). A real
 * deployment brings its own file of the same shape.
 */
export interface GeoFrame {
  readonly type: 'FeatureCollection'
  readonly features: readonly GeoFrameFeature[]
}

export type GeoFrameFeature =
  | { readonly type: 'Feature'; readonly geometry: { readonly type: 'Polygon'; readonly coordinates: number[][][] }; readonly properties: { readonly kind: 'district'; readonly name: string } }
  | { readonly type: 'Feature'; readonly geometry: { readonly type: 'Point'; readonly coordinates: [number, number] }; readonly properties: { readonly kind: 'community'; readonly community_id: string; readonly name: string; readonly district: string } }

export function cityFrame(world: World): GeoFrame {
  const round = (x: number) => Math.round(x * 1e6) / 1e6
  return {
    type: 'FeatureCollection',
    features: [
      ...world.districts.map((d): GeoFrameFeature => {
        const b = d.bbox
        const ring = [[b.minLon, b.minLat], [b.maxLon, b.minLat], [b.maxLon, b.maxLat], [b.minLon, b.maxLat], [b.minLon, b.minLat]].map((p) => p.map(round))
        return { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: { kind: 'district', name: d.name } }
      }),
      ...world.communities.map((c): GeoFrameFeature => ({
        type: 'Feature',
        geometry: { type: 'Point', coordinates: [round(c.lon), round(c.lat)] },
        properties: { kind: 'community', community_id: c.communityId, name: c.name, district: c.district },
      })),
    ],
  }
}

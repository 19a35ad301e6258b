import { HEATMAP_CUBE } from './cubes.js'
import { cubePipeline, type PipelineDefinition } from './pipeline.js'

/** Geohash precisions: ~4.9 km (city), ~1.2 km (district), ~153 m (block) cells. */
export const HEATMAP_PRECISIONS = [5, 6, 7] as const

/**
 * Geo activity by minute, geohash cell (three precisions) and community: paid orders and GMV at the
 * delivery point, active users at located behaviour events and delivery points. Built by the views
 * heatmap_minute_from_behaviour and heatmap_minute_from_order (ClickHouse's geohashEncode, which
 * tests/integration/clickhouse/geohash.test.ts holds equal to geohash.ts, the API's decoder).
 */
export const heatmap: PipelineDefinition = cubePipeline(HEATMAP_CUBE, {
  description: 'orders, GMV and active users by minute, geohash cell (precision 5/6/7) and community',
  sources: ['order', 'behaviour'], bit: 3,
})

import { GMV_CUBE } from './cubes.js'
import { cubePipeline, type PipelineDefinition } from './pipeline.js'

/**
 * GMV by minute, community, group leader and category. Line-level measures (GMV, items) are sums
 * per category; order-level ones are distinct states (orders, paying users, refunded and cancelled
 * orders), so they stay exact when categories are merged; refunds are split over the order's
 * categories by line value in exact cents (largest remainder). GMV counts at `paid`. Built by
 * the view gmv_minute_from_stream (sql/migrations/0008_stream_views.sql).
 */
export const gmv: PipelineDefinition = cubePipeline(GMV_CUBE, {
  description: 'GMV, orders, items, paying users, refunds and cancellations by minute, community, leader and category',
  sources: ['order'], bit: 1,
})

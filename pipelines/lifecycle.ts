import { COMPLAINTS_CUBE, cubeTable } from './cubes.js'
import type { PipelineDefinition } from './pipeline.js'

/**
 * Order lifecycle: one row per order (merged by ClickHouse) with the first time of each status,
 * its leader and community, and complaints — for group-leader efficiency (accept → sort → deliver).
 * Complaints are also counted by minute, community, leader and reason. Built by the views
 * order_lifecycle_from_stream and complaints_minute_from_stream.
 */
export const lifecycle: PipelineDefinition = {
  name: 'lifecycle',
  description: 'per order: time of each status, leader, community, complaints; complaints by minute and reason',
  sources: ['order'],
  tables: ['order_lifecycle', cubeTable(COMPLAINTS_CUBE, 'minute')],
  bit: 5,
}

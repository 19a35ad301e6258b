import { RAW_TABLES } from '../sinks/index.js'
import type { PipelineDefinition } from './pipeline.js'

/** Raw facts: every accepted event as a row, for ad-hoc queries, oracles and `streamcube rebuild`. */
export const facts: PipelineDefinition = {
  name: 'facts',
  description: 'every accepted event as a raw fact row (behaviour_events, order_events, inventory_events)',
  sources: ['behaviour', 'order', 'inventory'],
  tables: Object.values(RAW_TABLES),
  bit: 0,
}

import { INVENTORY_MOVEMENTS_CUBE, cubeTable } from './cubes.js'
import type { PipelineDefinition } from './pipeline.js'

/**
 * Inventory state per community warehouse, sku and batch (received − sold − lost = on hand, with
 * production and expiry dates) for expiry warnings and restock; movements by minute and kind for
 * turnover; stocktake counts as they were reported. Built by the views inventory_batches_from_stream,
 * inventory_movements_minute_from_stream and inventory_stocktakes_from_stream.
 */
export const inventory: PipelineDefinition = {
  name: 'inventory',
  description: 'stock per warehouse, sku and batch (on hand, expiry); movements by minute and kind; stocktakes',
  sources: ['inventory'],
  tables: ['inventory_batches', cubeTable(INVENTORY_MOVEMENTS_CUBE, 'minute'), 'inventory_stocktakes'],
  bit: 6,
}

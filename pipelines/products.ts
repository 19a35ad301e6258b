import { PRODUCTS_CUBE, cubeTable } from './cubes.js'
import type { PipelineDefinition } from './pipeline.js'

/**
 * Product sales by minute, community, sku and category (paid orders): quantity, GMV and order
 * lines, for TOP-N rankings. Built by the view products_minute_from_stream.
 */
export const products: PipelineDefinition = {
  name: 'products',
  description: 'quantity, GMV and orders by minute, community, sku and category',
  sources: ['order'],
  tables: [cubeTable(PRODUCTS_CUBE, 'minute')],
  bit: 4,
}

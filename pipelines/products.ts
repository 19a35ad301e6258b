import { PRODUCTS_CUBE } from './cubes.js'
import { cubePipeline, type PipelineDefinition } from './pipeline.js'

/**
 * Product sales by minute, community, sku and category (paid orders): quantity, GMV and order
 * lines, for TOP-N rankings. Built by the view products_minute_from_stream.
 */
export const products: PipelineDefinition = cubePipeline(PRODUCTS_CUBE, {
  description: 'quantity, GMV and orders by minute, community, sku and category',
  sources: ['order'], bit: 4,
})

import { EngineError, EngineErrorCode } from '../runtime/errors.js'
import type { PipelineDefinition } from '../runtime/pipeline.js'
import { activity } from './activity.js'
import { facts } from './facts.js'
import { gmv } from './gmv.js'
import { heatmap } from './heatmap.js'
import { inventory } from './inventory.js'
import { lifecycle } from './lifecycle.js'
import { products } from './products.js'

/** Every pipeline, by name. Adding one: a file here, an entry below, and a migration for its tables. */
export const PIPELINES: readonly PipelineDefinition[] = [facts, gmv, activity, heatmap, products, lifecycle, inventory]

export { activity, facts, gmv, heatmap, inventory, lifecycle, products }
export { geohash, geohashBounds } from './geohash.js'
export { HEATMAP_PRECISIONS } from './heatmap.js'

/** Looks pipelines up by name; throws ENGINE_UNKNOWN_PIPELINE with the list of known names for an unknown one. */
export function selectPipelines(names: readonly string[]): PipelineDefinition[] {
  if (names.length === 0) return [...PIPELINES]
  return names.map((n) => {
    const p = PIPELINES.find((x) => x.name === n)
    if (!p) throw new EngineError(EngineErrorCode.UNKNOWN_PIPELINE, `unknown pipeline ${JSON.stringify(n)}; known: ${PIPELINES.map((x) => x.name).join(', ')}`)
    return p
  })
}

import { PipelineError, PipelineErrorCode } from './errors.js'
import type { PipelineDefinition } from './pipeline.js'
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
export { HEATMAP_PRECISIONS } from './heatmap.js'
export { PipelineError, PipelineErrorCode } from './errors.js'
export { CUBES, GRAINS, addedMeasuresMigration, cubeTable, cubeMigration, measureSql, measureList, measureNames, GMV_CUBE, ACTIVITY_CUBE, HEATMAP_CUBE, PRODUCTS_CUBE, COMPLAINTS_CUBE, INVENTORY_MOVEMENTS_CUBE } from './cubes.js'
export type { CubeDeclaration, Grain, MeasureKind } from './cubes.js'
export type { PipelineDefinition, RecordPosition } from './pipeline.js'

/** Looks pipelines up by name; throws PIPELINE_UNKNOWN with the list of known names for an unknown one. */
export function selectPipelines(names: readonly string[]): PipelineDefinition[] {
  if (names.length === 0) return [...PIPELINES]
  return names.map((n) => {
    const p = PIPELINES.find((x) => x.name === n)
    if (!p) throw new PipelineError(PipelineErrorCode.UNKNOWN, `unknown pipeline ${JSON.stringify(n)}; known: ${PIPELINES.map((x) => x.name).join(', ')}`)
    return p
  })
}

export { COMMUNITY_SCOPE, SKU_SCOPE, UNSCOPED, filterOn } from './scope.js'
export { nextVersion, listDefinitions, putDefinition, deleteDefinition } from './definitions.js'
export type { DefinitionTable } from './definitions.js'

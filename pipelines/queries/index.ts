export { COMMUNITY_SCOPE, SKU_SCOPE, UNSCOPED, filterOn } from './scope.js'

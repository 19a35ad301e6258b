/*
 * SQL fragments every query over the cubes shares: the caller's row scope (a leader's communities,
 * a supplier's SKUs) and optional list filters, as parameterized predicates. The API and the
 * scheduled pipelines (alerts, stock analyses) bind the same parameters.
 */

/** The scope predicate on community_id (parameters scope_all_communities, scope_communities). */
export const COMMUNITY_SCOPE = '({scope_all_communities:UInt8} = 1 OR has({scope_communities:Array(String)}, community_id))'
/** The scope predicate on sku (parameters scope_all_skus, scope_skus). */
export const SKU_SCOPE = '({scope_all_skus:UInt8} = 1 OR has({scope_skus:Array(String)}, sku))'

/** Parameters of a scope that sees everything. */
export const UNSCOPED = Object.freeze({ scope_all_communities: 1, scope_communities: [] as string[], scope_all_skus: 1, scope_skus: [] as string[] })

/** An optional filter predicate: an empty list means no filter. */
export const filterOn = (param: string, column: string) => `(empty({${param}:Array(String)}) OR has({${param}:Array(String)}, ${column}))`

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { scopeParams, type KeyRing, type Principal, type Role, type ScopeParams } from './auth.js'
import { ApiError, ApiErrorCode, forbidden } from './errors.js'

/**
 * Who may call a route and what it may read, declared on the route (`config.access`) and enforced
 * by one hook for every /v1 route: the role check (403) and the row scope (`req.scope`, whose
 * parameters every report's SQL applies; a filter outside the caller's scope is a 403).
 */
export interface RouteAccess {
  /** The roles that may call the route; absent: every role. */
  readonly roles?: readonly Role[]
  /** What the route reads or changes, for the 403 message ("role supplier may not read <reads>"). */
  readonly reads: string
  /**
   * The request fields that filter by community and by SKU (a path parameter or a query field of
   * that name, after validation), checked against the key's scope.
   */
  readonly filters?: { readonly community?: string; readonly sku?: string; readonly leader?: string }
}

/** Every /v1 route's access declaration by method and URL ("GET /v1/expiry"), as registered. */
export type AccessMap = ReadonlyMap<string, RouteAccess>

/** Whether a role may call a route of the map (an unknown route: no). */
export function roleMayCall(map: AccessMap, role: Role, route: string): boolean {
  const access = map.get(route)
  return access !== undefined && (!access.roles || access.roles.includes(role))
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess
  }
  interface FastifyRequest {
    principal: Principal
    scope: ScopeParams
  }
}

/** A filter's values from the path parameters or the validated query (one value or a list). */
function filterValues(req: FastifyRequest, field: string | undefined): readonly string[] | undefined {
  if (!field) return undefined
  const params = req.params as Record<string, unknown> | undefined
  const query = req.query as Record<string, unknown> | undefined
  const v = params?.[field] ?? query?.[field]
  if (v === undefined || v === null) return undefined
  return Array.isArray(v) ? (v as string[]) : [String(v)]
}

/**
 * Registers the /v1 access convention on a scope: every request is authenticated (401), every
 * route must declare `config.access` (a route without one stops start-up), and before the handler
 * the role and the scope are checked.
 */
export function enforceAccess(app: FastifyInstance, keys: KeyRing): AccessMap {
  const map = new Map<string, RouteAccess>()
  app.decorateRequest('principal', null as never)
  app.decorateRequest('scope', null as never)
  app.addHook('onRoute', (route) => {
    if (!route.config?.access) throw new ApiError(ApiErrorCode.INTERNAL, 500, `route ${route.method} ${route.url} declares no config.access (roles, reads, filters): every /v1 route must`)
    for (const method of [route.method].flat()) map.set(`${method} ${route.url}`, route.config.access)
  })
  app.addHook('onRequest', async (req) => {
    req.principal = keys.authenticate(req.headers)
  })
  // After validation: the filters are the validated values (a comma list already split).
  app.addHook('preHandler', async (req) => {
    const access = req.routeOptions.config.access as RouteAccess
    const p = req.principal
    if (access.roles && !access.roles.includes(p.role)) throw forbidden(`role ${p.role} may not read ${access.reads}`)
    req.scope = scopeParams(p, { community: filterValues(req, access.filters?.community), sku: filterValues(req, access.filters?.sku), leader: filterValues(req, access.filters?.leader) })
  })
  return map
}

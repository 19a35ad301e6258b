import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { RouteAccess } from '../access.js'
import type { Config } from '../../schemas/index.js'
import { normalizedKey, ttlFor, type ReportCache } from '../cache.js'
import { ApiError, ApiErrorCode } from '../errors.js'
import type { ReportQueries } from './query.js'

/** What every report plugin shares (a Fastify decorator). */
export interface ReportContext {
  readonly queries: ReportQueries
  readonly cache: ReportCache
  readonly config: Config
  readonly now: () => number
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Report queries (and every other statement of a route, through queries.session) and the cache. */
    reports: ReportContext
  }
}

/** A cached GET report as declared: who may read it (route config) and its schemas (OpenAPI shows them). */
export interface ReportRoute<Q extends z.ZodType, P extends z.ZodType> {
  readonly access: RouteAccess
  readonly tags: string[]
  readonly summary: string
  readonly querystring?: Q
  readonly params?: P
  readonly response: z.ZodType
}

/** What a report handler sees: the validated query and path parameters, the caller and its row scope. */
export type ReportRequest<Q extends z.ZodType, P extends z.ZodType> = Pick<FastifyRequest, 'principal' | 'scope'> & {
  readonly query: z.output<Q>
  readonly params: z.output<P>
}

/** A report's answer before the cache: the newest time it covers (its cache lifetime follows; null: a short fixed one) and how to compute it on a miss. */
export interface ReportAnswer {
  readonly covers: { readonly to: number } | null
  readonly compute: () => Promise<unknown>
}

/** The schema of a route without a query or path parameters. */
type NoFields = z.ZodObject<Record<string, never>>

/**
 * Registers a cached GET report route, the one way every report is declared: access as route
 * config (enforced by the /v1 hook), the query, path and response schemas, and an answer sent by
 * sendReport. The handler may throw an ApiError for a query its schema cannot refuse alone (or
 * for what it finds before the report, as a campaign that does not exist).
 */
export function getReport<Q extends z.ZodType = NoFields, P extends z.ZodType = NoFields>(
  app: FastifyInstance,
  url: string,
  route: ReportRoute<Q, P>,
  handler: (req: ReportRequest<Q, P>, ctx: ReportContext) => ReportAnswer | Promise<ReportAnswer>,
): void {
  const schema = { tags: route.tags, summary: route.summary, response: { 200: route.response }, ...(route.querystring && { querystring: route.querystring }), ...(route.params && { params: route.params }) }
  app.withTypeProvider<ZodTypeProvider>().get(url, { config: { access: route.access }, schema }, async (req, reply) => {
    const answer = await handler(req as unknown as ReportRequest<Q, P>, app.reports)
    return sendReport(req, reply, app.reports, answer.covers, answer.compute)
  })
}

/**
 * Answers a report from the cache (keyed on route, normalized query and the caller's scope),
 * computing it once on a miss; honours If-None-Match with a 304.
 */
export async function sendReport(
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: ReportContext,
  range: { to: number } | null,
  compute: () => Promise<unknown>,
): Promise<FastifyReply> {
  const p = req.principal
  const key = normalizedKey(req.routeOptions.url ?? req.url, { ...(req.query as object), ...(req.params as object) }, [p.role, p.communities, p.skus])
  const ttl = range ? ttlFor(range.to, ctx.now(), ctx.config.engine.allowedLatenessMs) : 2_000
  const schema = (req.routeOptions.schema?.response as Record<number, unknown> | undefined)?.[200]
  const entry = await ctx.cache.get(key, ttl, async () => conforming(schema, req.routeOptions.url ?? req.url, await compute()))
  // Compressed when the client accepts gzip (browsers do) and the body is worth it; made once per entry.
  const gz = acceptsGzip(req.headers['accept-encoding']) ? await entry.gzipped() : null
  const etag = gz ? gz.etag : entry.etag
  void reply.header('etag', etag).header('vary', 'accept-encoding').header('cache-control', `private, max-age=${Math.max(0, Math.floor((entry.expiresAt - ctx.now()) / 1000))}`)
  if (req.headers['if-none-match'] === etag) return reply.status(304).send()
  if (gz) return reply.type('application/json; charset=utf-8').header('content-encoding', 'gzip').send(gz.body)
  return reply.type('application/json; charset=utf-8').send(entry.body)
}

/** Whether an Accept-Encoding header admits gzip (not refused with q=0). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : header
  if (!value) return false
  return value.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';')
    if (coding !== 'gzip' && coding !== '*') return false
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  })
}

/**
 * A report is sent as cached JSON text, which Fastify does not serialize again: so the route's
 * declared response schema (what OpenAPI shows) is checked here, once per computed report. A
 * report that does not match its schema is a bug: a 500 that names the fields.
 */
function conforming(schema: unknown, url: string, body: unknown): unknown {
  if (!(schema instanceof z.ZodType)) return body
  const checked = schema.safeParse(body)
  if (!checked.success) throw new ApiError(ApiErrorCode.INTERNAL, 500, `the report ${url} does not match its response schema: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  return body
}

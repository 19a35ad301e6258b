import type { FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
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

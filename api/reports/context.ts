import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../../schemas/index.js'
import type { ClickHouse } from '../../sinks/index.js'
import { normalizedKey, ttlFor, type ReportCache } from '../cache.js'
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
    reports: ReportContext
    /** The API's own ClickHouse connection (alert rules and campaigns: definitions it writes). */
    clickhouse: ClickHouse
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
  const entry = await ctx.cache.get(key, ttl, compute)
  void reply.header('etag', entry.etag).header('cache-control', `private, max-age=${Math.max(0, Math.floor((entry.expiresAt - ctx.now()) / 1000))}`)
  if (req.headers['if-none-match'] === entry.etag) return reply.status(304).send()
  return reply.type('application/json; charset=utf-8').send(entry.body)
}

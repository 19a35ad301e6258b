import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import underPressure from '@fastify/under-pressure'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import type { Logger } from 'pino'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { loadConfig, type Config } from '../schemas/index.js'
import { appliedMigrations, connectClickHouse, loadMigrations, type ClickHouse } from '../sinks/index.js'
import { ANONYMOUS_ANALYST, hashApiKey, KeyRing, loadApiKeys } from './auth.js'
import { ReportCache } from './cache.js'
import { dashboardRoutes } from './dashboard/routes.js'
import { ApiError, ApiErrorCode } from './errors.js'
import { enforceAccess } from './access.js'
import { meRoutes } from './boards.js'
import { geoRoutes } from './reports/geo.js'
import { alertRoutes } from './alerts.js'
import { activityRoutes } from './reports/activity.js'
import type { ReportContext } from './reports/context.js'
import { leaderRoutes } from './reports/leaders.js'
import { campaignRoutes } from './reports/campaigns.js'
import { expiryRoutes } from './reports/expiry.js'
import { restockRoutes } from './reports/restock.js'
import { productRoutes } from './reports/products.js'
import { profileRoutes } from './reports/profile.js'
import { qualityRoutes } from './reports/quality.js'
import { repurchaseRoutes } from './reports/repurchase.js'
import { ReportQueries } from './reports/query.js'
import { salesRoutes } from './reports/sales.js'
import { siteRoutes } from './reports/sites.js'
import { statusRoutes } from './reports/status.js'
import { targetingRoutes } from './reports/targeting.js'

export interface ApiOptions {
  readonly ch: ClickHouse
  /** More sessions for report queries (embedded engine: a session runs one statement at a time); see openQuerySessions. */
  readonly querySessions?: readonly ClickHouse[]
  readonly log: Logger
  /** Validated configuration; default: read from the environment. */
  readonly config?: Config
  /** Other registries to expose on /metrics (the engine's, when the pipelines run in this process). */
  readonly metricsRegistries?: readonly Registry[]
  /** Wall clock (tests). */
  readonly now?: () => number
}

/**
 * The extra report-query sessions API_SESSIONS asks for, next to `ch`: on the embedded engine more
 * connections to the same data directory (each its own session); on a server none, since its
 * HTTP client already runs queries concurrently. The caller closes them.
 */
export async function openQuerySessions(config: Config, ch: ClickHouse): Promise<ClickHouse[]> {
  if (ch.kind !== 'embedded') return []
  return Promise.all(Array.from({ length: config.api.sessions - 1 }, () => connectClickHouse(config.clickhouse, { application: 'streamcube-api' })))
}

/**
 * The Fastify application: the /v1 reports (zod-validated, parameterized SQL, row scope from the
 * caller's key, cached, with a query deadline), the dashboard at /, OpenAPI at /docs, and
 * /health, /ready, /metrics.
 */
export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const config = options.config ?? loadConfig()
  const keys = new KeyRing(loadApiKeys(config), config.api.anonymousRole === 'analyst' ? ANONYMOUS_ANALYST : null)
  const app = Fastify({
    loggerInstance: options.log.child({ module: 'api' }) as FastifyBaseLogger,
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
  })
  const { ch } = options
  const expected = loadMigrations().map((m) => m.version)

  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'streamcube_api_' })
  const requests = new Histogram({ name: 'streamcube_api_request_seconds', help: 'API request latency by route and status', labelNames: ['route', 'status'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] })
  const cacheResults = new Counter({ name: 'streamcube_api_cache_total', help: 'Report cache lookups: hit, miss (query run), shared (joined a query already running)', labelNames: ['result'], registers: [registry] })
  const now = options.now ?? Date.now
  const reports: ReportContext = {
    queries: new ReportQueries(ch, config.api.queryTimeoutMs, app.log, options.querySessions),
    cache: new ReportCache(config.api.cacheMaxEntries, cacheResults, now),
    config,
    now,
  }
  app.decorate('reports', reports)

  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)

  app.setErrorHandler((err: Error & { statusCode?: number; validationContext?: string }, req, reply) => {
    if (err instanceof ApiError) return reply.status(err.statusCode).send(err.body())
    if (hasZodFastifySchemaValidationErrors(err)) {
      // Name every bad field: "querystring.from: expected an ISO 8601 date-time".
      const where = err.validationContext ?? 'request'
      const message = err.validation.map((v) => `${where}${v.instancePath.replaceAll('/', '.')}: ${v.message}`).join('; ')
      return reply.status(400).send(new ApiError(ApiErrorCode.BAD_REQUEST, 400, message).body())
    }
    const statusCode = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500
    if (statusCode === 429) return reply.status(429).send(new ApiError(ApiErrorCode.RATE_LIMITED, 429, err.message).body())
    if (statusCode === 503) return reply.status(503).send(new ApiError(ApiErrorCode.OVERLOADED, 503, err.message).body())
    if (statusCode >= 500) req.log.error({ err }, 'request failed')
    const e = new ApiError(statusCode >= 500 ? ApiErrorCode.INTERNAL : ApiErrorCode.BAD_REQUEST, statusCode, statusCode >= 500 ? 'internal error' : err.message)
    return reply.status(statusCode).send(e.body())
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(new ApiError(ApiErrorCode.NOT_FOUND, 404, `${req.method} ${req.url} does not exist`).body())
  })

  app.addHook('onSend', async (req, reply) => {
    void reply.header('x-request-id', req.id)
  })
  app.addHook('onResponse', async (req, reply) => {
    requests.observe({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })

  await app.register(cors, { origin: config.api.corsOrigins.includes('*') ? true : config.api.corsOrigins.length ? [...config.api.corsOrigins] : false })
  await app.register(underPressure, {
    maxEventLoopDelay: config.api.maxEventLoopDelayMs,
    retryAfter: 5,
    exposeStatusRoute: false,
  })
  await app.register(rateLimit, {
    max: config.api.rateLimitPerMinute,
    timeWindow: 60_000,
    // Per key (its hash, never the key), else per client address.
    keyGenerator: (req) => {
      const auth = req.headers.authorization
      const key = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : req.headers['x-api-key']
      return typeof key === 'string' && key ? hashApiKey(key) : req.ip
    },
    allowList: (req) => !req.url.startsWith('/v1/'),
  })
  await app.register(swagger, {
    openapi: {
      info: { title: 'streamcube API', version: '1', description: 'Pre-computed cubes for neighbourhood commerce dashboards. Every /v1 route takes an API key (Authorization: Bearer or X-API-Key).' },
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' }, bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }, { bearer: [] }],
    },
    transform: jsonSchemaTransform,
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }))

  app.get('/ready', { schema: { hide: true } }, async (_req, reply) => {
    try {
      const applied = await reports.queries.session((session) => appliedMigrations(session))
      const missing = expected.filter((v) => !applied.has(v))
      if (missing.length > 0) return reply.status(503).send(new ApiError(ApiErrorCode.NOT_READY, 503, `migrations not applied: ${missing.join(', ')}`).body())
      return { status: 'ready', clickhouse: ch.kind, migrations: expected.length }
    } catch (err) {
      return reply.status(503).send(new ApiError(ApiErrorCode.NOT_READY, 503, `ClickHouse unreachable: ${(err as Error).message}`).body())
    }
  })

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    const bodies = await Promise.all([registry, ...(options.metricsRegistries ?? [])].map((r) => r.metrics()))
    return reply.type(registry.contentType).send(bodies.join('\n'))
  })

  // Every /v1 route: who is asking (401 without a valid key, unless anonymous reads are on), and
  // what it may read (the route's config.access: role and row scope, api/access.ts).
  const geo = geoRoutes(config.api.geoFrameFile) // a bad frame file stops start-up here
  await app.register(async (v1) => {
    const access = enforceAccess(v1, keys)
    await v1.register(meRoutes(access))
    await v1.register(statusRoutes)
    await v1.register(salesRoutes)
    await v1.register(productRoutes)
    await v1.register(leaderRoutes)
    await v1.register(activityRoutes)
    await v1.register(alertRoutes)
    await v1.register(qualityRoutes)
    await v1.register(repurchaseRoutes)
    await v1.register(expiryRoutes)
    await v1.register(restockRoutes)
    await v1.register(profileRoutes)
    await v1.register(targetingRoutes)
    await v1.register(campaignRoutes)
    await v1.register(siteRoutes)
    await v1.register(geo)
  })

  await app.register(dashboardRoutes, { pollMs: config.api.dashboardPollMs })
  return app
}

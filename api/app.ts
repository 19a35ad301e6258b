import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { appliedMigrations, loadMigrations, RAW_TABLES, type ClickHouse } from '../sinks/index.js'
import { ApiErrorCode } from './errors.js'
import { STATUS_PAGE } from './status-page.js'

export interface ApiOptions {
  readonly ch: ClickHouse
  readonly log: Logger
}

/**
 * The Fastify application. Today: liveness, readiness and an ingest status report with a page;
 * the aggregate reports join as plugins in the API issue.
 */
export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: options.log.child({ module: 'api' }) as FastifyBaseLogger })
  const { ch } = options
  const expected = loadMigrations().map((m) => m.version)

  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const statusCode = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500
    void reply.status(statusCode).send({
      statusCode,
      code: statusCode >= 500 ? ApiErrorCode.INTERNAL : ApiErrorCode.BAD_REQUEST,
      error: statusCode >= 500 ? 'Internal Server Error' : 'Bad Request',
      message: statusCode >= 500 ? 'internal error' : err.message,
    })
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ statusCode: 404, code: ApiErrorCode.NOT_FOUND, error: 'Not Found', message: `${req.method} ${req.url} does not exist` })
  })

  app.get('/health', async () => ({ status: 'ok' }))

  app.get('/ready', async (_req, reply) => {
    try {
      const applied = await appliedMigrations(ch)
      const missing = expected.filter((v) => !applied.has(v))
      if (missing.length > 0) {
        return reply.status(503).send({ statusCode: 503, code: ApiErrorCode.NOT_READY, error: 'Service Unavailable', message: `migrations not applied: ${missing.join(', ')}` })
      }
      return { status: 'ready', clickhouse: ch.kind, migrations: expected.length }
    } catch (err) {
      return reply.status(503).send({ statusCode: 503, code: ApiErrorCode.NOT_READY, error: 'Service Unavailable', message: `ClickHouse unreachable: ${(err as Error).message}` })
    }
  })

  app.get('/v1/ingest/status', async () => {
    const tables = Object.values(RAW_TABLES)
    const rs = await ch.client.query({
      query: `SELECT table, events, latest FROM (
                SELECT 'behaviour_events' AS table, count() AS events, toUnixTimestamp64Milli(max(event_time)) AS latest FROM behaviour_events
                UNION ALL SELECT 'order_events', count(), toUnixTimestamp64Milli(max(event_time)) FROM order_events
                UNION ALL SELECT 'inventory_events', count(), toUnixTimestamp64Milli(max(event_time)) FROM inventory_events)
              WHERE has({tables:Array(String)}, table) ORDER BY table`,
      query_params: { tables },
      format: 'JSONEachRow',
      clickhouse_settings: { max_execution_time: 3, output_format_json_quote_64bit_integers: 0 },
    })
    const rows = await rs.json<{ table: string; events: number; latest: number }>()
    return { tables: rows.map((r) => ({ table: r.table, events: Number(r.events), latestEventTime: r.events ? new Date(Number(r.latest)).toISOString() : null })) }
  })

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(STATUS_PAGE))
  return app
}

import type { FastifyPluginAsync } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { MIN_WATERMARK } from '../../queries/index.js'
import { RAW_TABLES } from '../../sinks/index.js'

const IngestStatus = z.object({
  tables: z.array(z.object({ table: z.string(), events: z.number().int(), latestEventTime: z.string().nullable().describe('ISO 8601; null before the first event') })),
})

const Freshness = z.object({
  now: z.string().describe('the server clock, ISO 8601'),
  latest_minute: z.string().nullable().describe('the newest minute with activity in the cubes'),
  watermark: z.string().nullable().describe("the pipelines' event-time watermark: the minimum over every group's partitions"),
})

/** GET /v1/ingest/status and /v1/freshness: what has arrived and how current the cubes are (every role). */
export const statusRoutes: FastifyPluginAsync = async (app) => {
  const ctx = app.reports
  const typed = app.withTypeProvider<ZodTypeProvider>()
  typed.get('/v1/ingest/status', {
    config: { access: { reads: 'ingest status' } },
    schema: { tags: ['status'], summary: 'Raw events per fact table and the latest event time', response: { 200: IngestStatus } },
  }, async () => {
    const tables = Object.values(RAW_TABLES)
    const rows = await ctx.queries.rows<{ table: string; events: number; latest: number }>(
      `SELECT table, events, latest FROM (
         SELECT 'behaviour_events' AS table, count() AS events, toUnixTimestamp64Milli(max(event_time)) AS latest FROM behaviour_events
         UNION ALL SELECT 'order_events', count(), toUnixTimestamp64Milli(max(event_time)) FROM order_events
         UNION ALL SELECT 'inventory_events', count(), toUnixTimestamp64Milli(max(event_time)) FROM inventory_events)
       WHERE has({tables:Array(String)}, table) ORDER BY table`,
      { tables },
    )
    return { tables: rows.map((r) => ({ table: r.table, events: Number(r.events), latestEventTime: Number(r.events) ? new Date(Number(r.latest)).toISOString() : null })) }
  })
  typed.get('/v1/freshness', {
    config: { access: { reads: 'freshness' } },
    schema: { tags: ['status'], summary: "How current the cubes are: the newest minute with data, and the pipelines' event-time watermark", response: { 200: Freshness } },
  }, async () => {
    const [row] = await ctx.queries.rows<{ latest_minute: number; watermark: number | null }>(
      `SELECT (SELECT toUnixTimestamp(max(window_start)) FROM activity_minute WHERE window_start >= (SELECT max(window_start) FROM activity_hour)) AS latest_minute,
              (SELECT watermark FROM (${MIN_WATERMARK})) AS watermark`,
      {},
    )
    const latest = Number(row?.latest_minute ?? 0)
    const watermark = Number(row?.watermark ?? 0)
    return {
      now: new Date(ctx.now()).toISOString(),
      latest_minute: latest > 0 ? new Date(latest * 1000).toISOString() : null,
      watermark: watermark > 0 ? new Date(watermark).toISOString() : null,
    }
  })
}

import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { LATEST_WATERMARKS } from '../../queries/index.js'
import { getReport } from './context.js'
import { QualityResponse } from './responses.js'
import { TimeRange, bound, resolveRange } from './params.js'
import { RANGE, num } from './query.js'

/*
 * Data quality per pipeline set and topic, from the counts every flush writes (quality_minute, by
 * arrival minute): records read, dead-letter rate by error code, duplicate and late rates, the
 * schema-version mix (records by writer schema); the
 * pipelines' watermark lag per topic; and gaps — communities that sent activity in the day before
 * and nothing in the last `silentMinutes`.
 */

const QualityQuery = z
  .object({
    ...TimeRange.shape,
    silentMinutes: z.coerce.number().int().min(5, 'must be 5-1440').max(1440, 'must be 5-1440').default(60).describe('a community without activity this long, after activity in the day before, is a gap'),
  })
  .transform((q, ctx) => ({ ...q, ...resolveRange(q, Date.now(), ctx) }))

const COUNTS = `
  SELECT pipeline_set, topic, kind, code, sum(events) AS n
  FROM quality_minute WHERE ${RANGE}
  GROUP BY pipeline_set, topic, kind, code ORDER BY pipeline_set, topic, kind, code`

const WATERMARKS = `
  SELECT group_id, topic, toUnixTimestamp64Milli(min(w)) AS watermark, max(idle) AS any_idle FROM (${LATEST_WATERMARKS})
  GROUP BY group_id, topic ORDER BY group_id, topic`

const GAPS = `
  SELECT community_id, toUnixTimestamp(max(window_start)) AS last_seen
  FROM activity_minute
  WHERE window_start >= toDateTime({since:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC')
  GROUP BY community_id
  HAVING max(window_start) < toDateTime({silent_from:UInt32}, 'UTC')
  ORDER BY last_seen, community_id`

const rate = (n: number, d: number): number | null => (d > 0 ? n / d : null)

export const qualityRoutes: FastifyPluginAsync = async (app) => {
  getReport(app, '/v1/quality', { access: { roles: ['admin', 'analyst'], reads: 'data quality' }, response: QualityResponse, tags: ['quality'], summary: 'Data quality per pipeline set and topic: dead-letter rate by error code, duplicate and late rates, schema-version mix, watermark lag, silent communities', querystring: QualityQuery }, ({ query: q }, ctx) => {
    return { covers: q, compute: async () => {
      const silentFrom = q.to - q.silentMinutes * 60_000
      const [counts, watermarks, gaps] = await Promise.all([
        ctx.queries.rows<{ pipeline_set: string; topic: string; kind: string; code: string; n: number }>(COUNTS, { from: bound(q.from), to: bound(q.to) }),
        ctx.queries.rows<{ group_id: string; topic: string; watermark: number; any_idle: number }>(WATERMARKS, {}),
        ctx.queries.rows<{ community_id: string; last_seen: number }>(GAPS, { since: bound(silentFrom - 86_400_000), to: bound(q.to), silent_from: bound(silentFrom) }),
      ])
      const topics = new Map<string, { pipeline_set: string; topic: string; kinds: Record<string, number>; deadByCode: Record<string, number>; schemas: Record<string, number> }>()
      for (const c of counts) {
        const key = `${c.pipeline_set}|${c.topic}`
        const t = topics.get(key) ?? { pipeline_set: c.pipeline_set, topic: c.topic, kinds: {}, deadByCode: {}, schemas: {} }
        t.kinds[c.kind] = (t.kinds[c.kind] ?? 0) + num(c.n)
        if (c.kind === 'dead_letter') t.deadByCode[c.code] = (t.deadByCode[c.code] ?? 0) + num(c.n)
        if (c.kind === 'schema') t.schemas[c.code] = (t.schemas[c.code] ?? 0) + num(c.n)
        topics.set(key, t)
      }
      const now = ctx.now()
      return {
        range: { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString() },
        topics: [...topics.values()].map((t) => {
          const k = (name: string) => t.kinds[name] ?? 0
          const events = k('accepted') + k('duplicate') + k('late')
          return {
            pipeline_set: t.pipeline_set,
            topic: t.topic,
            records: k('records'),
            events,
            accepted: k('accepted'),
            dead_lettered: k('dead_letter'),
            dead_letter_rate: rate(k('dead_letter'), k('records')),
            dead_letters_by_code: Object.entries(t.deadByCode).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([code, n]) => ({ code, records: n })),
            duplicates: k('duplicate'),
            duplicate_rate: rate(k('duplicate'), events),
            late: k('late'),
            late_rate: rate(k('late'), events),
            late_accepted: k('late_accepted'),
            // The writer schemas of the records that decoded (Confluent: per schema id; else the format).
            schemas: Object.entries(t.schemas).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([schema, n]) => ({ schema, records: n, share: rate(n, k('schema')) })),
          }
        }),
        watermarks: watermarks.map((w) => ({ group_id: w.group_id, topic: w.topic, watermark: new Date(num(w.watermark)).toISOString(), lag_seconds: Math.max(0, (now - num(w.watermark)) / 1000), idle_partitions: num(w.any_idle) > 0 })),
        silent_communities: gaps.map((g) => ({ community_id: g.community_id, last_seen: new Date(num(g.last_seen) * 1000).toISOString(), silent_minutes: Math.floor((q.to - num(g.last_seen) * 1000) / 60_000) })),
      }
    } }
  })
}

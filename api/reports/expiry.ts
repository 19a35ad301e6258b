import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { getReport } from './context.js'
import { ExpiryResponse } from './responses.js'
import { Filters } from './params.js'
import { assessExpiry } from '../../queries/index.js'

/*
 * Expiry / spoilage warnings (issue 6): the assessment of queries/stock/expiry.ts (FIFO at recent
 * daily sales, the quantity that will not sell before it expires, risk and suggested action) for
 * the caller's scope.
 */

const ExpiryQuery = z.object({
  at: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 date-time, e.g. 2026-11-24T08:00:00Z' }).transform((s) => Date.parse(s)).optional().describe('as of (default now)'),
  turnoverDays: z.coerce.number().int().min(1, 'must be 1-90').max(90, 'must be 1-90').default(7).describe('average daily sales over this many days before `at`'),
  community: Filters.shape.community,
  sku: Filters.shape.sku,
  all: z.enum(['true', 'false']).default('false').transform((v) => v === 'true').describe('also list batches that will sell in time'),
})

export const expiryRoutes: FastifyPluginAsync = async (app) => {
  getReport(app, '/v1/expiry', { access: { roles: ['admin', 'analyst', 'leader', 'supplier'], reads: 'expiry warnings', filters: { community: 'community', sku: 'sku' } }, response: ExpiryResponse, tags: ['analytics'], summary: 'Expiry warnings: per batch on hand, FIFO at recent daily sales, the quantity that will not sell before it expires, risk and suggested action', querystring: ExpiryQuery }, ({ query: q, scope }, ctx) => {
    const at = q.at ?? ctx.now()
    return { covers: { to: at }, compute: async () => {
      const { assessed: _assessed, ...report } = await assessExpiry((sql, params) => ctx.queries.rows(sql, params), { at, turnoverDays: q.turnoverDays, scope, community: q.community, sku: q.sku, all: q.all })
      return report
    } }
  })
}

import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { getReport } from './context.js'
import { RestockResponse } from './responses.js'
import { Filters } from './params.js'
import { LATEST_RESTOCK_RUN } from '../../queries/index.js'
import { COMMUNITY_SCOPE, SKU_SCOPE, filterOn, num } from './query.js'

/*
 * Restock suggestions (issue 6): the rows of the newest completed restock run (or of a given run
 * date), per community warehouse and sku — the forecast of the next days, the model the backtest
 * chose and its accuracy, the stock on hand and what of it sells before it expires, and the
 * suggested order quantity. The job writes them (`streamcube run restock`, daily); this only reads.
 */

const RestockQuery = z.object({
  date: z.iso.date({ message: 'expected a run date, e.g. 2026-12-01' }).optional().describe('run date (local); default: the newest run'),
  community: Filters.shape.community,
  category: Filters.shape.category,
  sku: Filters.shape.sku,
  suggested: z.enum(['true', 'false']).default('false').transform((v) => v === 'true').describe('only rows with an order suggested'),
  limit: z.coerce.number().int().min(1, 'must be 1-5000').max(5000, 'must be 1-5000').default(500).describe('rows, largest suggested order first'),
})

const ROWS = `
  SELECT warehouse_id, community_id, sku, category_id, model, fallback, history_days, history_sold, forecast, forecast_total,
         on_hand, usable_on_hand, unusable_on_hand, safety_factor, min_stock, suggested_qty, backtest_mae, backtest_mape, backtest_mase, baseline_mase
  FROM restock_forecast
  WHERE run_date = toDate({run_date:String}) AND computed_at = toDateTime64({computed_at:String}, 3, 'UTC')
    AND ${COMMUNITY_SCOPE} AND ${SKU_SCOPE} AND ${filterOn('f_community', 'community_id')} AND ${filterOn('f_category', 'category_id')} AND ${filterOn('f_sku', 'sku')}
    AND ({suggested:UInt8} = 0 OR suggested_qty > 0)
  ORDER BY suggested_qty DESC, warehouse_id, sku`

export const restockRoutes: FastifyPluginAsync = async (app) => {
  getReport(app, '/v1/restock', { access: { roles: ['admin', 'analyst', 'leader', 'supplier'], reads: 'restock suggestions', filters: { community: 'community', sku: 'sku' } }, response: RestockResponse, tags: ['analytics'], summary: 'Restock suggestions of the newest forecast run: per warehouse and sku the forecast, the chosen model and its backtest accuracy, usable stock and the suggested order', querystring: RestockQuery }, ({ query: q, scope }, ctx) => {
    // A run is written once a day: cache briefly so a new run shows within seconds.
    return { covers: null, compute: async () => {
      const [run] = await ctx.queries.rows<{ day: string; at: string; series: number; models: Record<string, number>; mean_mase: number | null; baseline_mean_mase: number | null; duration_ms: number; settings: string }>(LATEST_RESTOCK_RUN, { date: q.date ?? '' })
      if (!run) return { run: null, summary: { series: 0, suggested_orders: 0, suggested_units: 0 }, rows: [] }
      const rows = await ctx.queries.rows<Record<string, unknown> & { suggested_qty: number }>(ROWS, { ...scope, run_date: run.day, computed_at: run.at, f_community: q.community ?? [], f_category: q.category ?? [], f_sku: q.sku ?? [], suggested: q.suggested ? 1 : 0 })
      const suggested = rows.filter((r) => num(r.suggested_qty) > 0)
      return {
        run: { run_date: run.day, computed_at: `${run.at.replace(' ', 'T')}Z`, series: num(run.series), models: run.models, mean_mase: run.mean_mase, baseline_mean_mase: run.baseline_mean_mase, duration_ms: num(run.duration_ms), settings: JSON.parse(run.settings) as unknown },
        summary: { series: rows.length, suggested_orders: suggested.length, suggested_units: suggested.reduce((s, r) => s + num(r.suggested_qty), 0) },
        rows: rows.slice(0, q.limit),
      }
    } }
  })
}

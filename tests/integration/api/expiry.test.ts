import { describe, expect, it } from 'vitest'
import { AlertRuleSchema } from '../../../queries/index.js'
import { metricValues } from '../../../jobs/index.js'
import { fifoRisk } from '../../../queries/stock/fifo.js'
import type { GeneratedRecord } from '../../../generator/generator.js'
import type { InventoryEvent } from '../../../schemas/index.js'
import { generatedTemplates, runScripted } from '../alerts/scripted.js'
import { apiSuite, iso } from './fixture.js'

/*
 * Expiry warnings recover what was planted: inventory events (receipts with expiry dates, FIFO
 * sales) go through the real pipelines; the report must find the batch that cannot sell in time,
 * say how much, and send it where the sku sells faster than stock covers.
 */

const DAY = 86_400_000
const AT = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10)

function inventoryFactory(): (e: Partial<InventoryEvent> & Pick<InventoryEvent, 'kind' | 'eventTime' | 'warehouseId' | 'communityId' | 'qty'>) => GeneratedRecord {
  const t = generatedTemplates(9).receipt
  let n = 0
  return (e) => {
    const event: InventoryEvent = { ...t, sku: 'sku-x', batchId: null, productionDate: null, expiryDate: null, lossReason: null, orderId: null, ...e, eventId: `inv-${n++}` }
    return { type: 'inventory', key: event.sku, event: { type: 'inventory', event } }
  }
}

describe('expiry warnings', () => {
  const s = apiSuite('api_expiry', {}, 0)

  it('finds the batch that will not sell before it expires, how much of it, and where to send it', async () => {
    const make = inventoryFactory()
    // Receipts open the 7-day turnover window exactly, so the daily rates are whole numbers.
    const start = AT - 7 * DAY
    const receipt = (w: string, c: string, batchId: string, qty: number, expiry: number) => make({ kind: 'receipt', eventTime: start, warehouseId: w, communityId: c, batchId, qty, productionDate: date(AT - 10 * DAY), expiryDate: date(expiry) })
    const sales = (w: string, c: string, batchId: string, perDay: number) => Array.from({ length: 7 }, (_, d) => make({ kind: 'sale', eventTime: start + d * DAY + 3_600_000, warehouseId: w, communityId: c, batchId, qty: perDay }))
    await runScripted(s.ch, [
      // w-950 sells 10 a day: batch A (100 left, expires tomorrow) cannot sell in time; batch B can.
      receipt('w-950', 'c-950', 'A', 170, AT + DAY), receipt('w-950', 'c-950', 'B', 50, AT + 20 * DAY), ...sales('w-950', 'c-950', 'A', 10),
      // w-951 sells 100 a day and holds 10: it could take A.
      receipt('w-951', 'c-951', 'C', 710, AT + 30 * DAY), ...sales('w-951', 'c-951', 'C', 100),
    ])
    const res = await s.get(`/v1/expiry?at=${iso(AT)}&all=true`, 'analyst')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const byBatch = Object.fromEntries(res.body.batches.map((b: { batch_id: string }) => [b.batch_id, b]))
    const dte = (Date.parse(`${date(AT + DAY)}T00:00:00Z`) + DAY - AT) / DAY
    expect(byBatch.A).toMatchObject({ warehouse_id: 'w-950', on_hand: 100, daily_sales: 10, stock_ahead: 0, sells_before_expiry: Math.floor(10 * dte), at_risk: 100 - Math.floor(10 * dte), risk: 'high', action: 'transfer', transfer_to: { community_id: 'c-951', warehouse_id: 'w-951', spare_demand: Math.floor(100 * Math.round(dte * 10) / 10 - 10) } })
    expect(byBatch.B).toMatchObject({ on_hand: 50, stock_ahead: 100, at_risk: 0, risk: 'ok', action: 'none' })
    expect(byBatch.C).toMatchObject({ on_hand: 10, daily_sales: 100, risk: 'ok' })
    expect(res.body.summary).toEqual({ batches: 3, at_risk_batches: 1, at_risk_units: byBatch.A.at_risk })
    // Without all=true only batches at risk are listed; a leader sees only her communities.
    expect((await s.get(`/v1/expiry?at=${iso(AT)}`, 'analyst')).body.batches.map((b: { batch_id: string }) => b.batch_id)).toEqual(['A'])
    expect((await s.get(`/v1/expiry?at=${iso(AT)}&all=true`, 'leader')).body.batches).toEqual([])
    expect((await s.get('/v1/expiry?turnoverDays=0', 'analyst')).body.message).toMatch(/querystring\.turnoverDays: must be 1-90/)

    // The alert metric reads the same assessment: the units at risk per community, as of the window's end.
    const rule = (groupBy: 'community' | null) => AlertRuleSchema.parse({ id: 'x', name: 'x', metric: 'expiry_at_risk_units', groupBy, window: { kind: 'last', minutes: 5 }, condition: { type: 'static', op: '>', threshold: 50 } })
    const opts = { lateDeliveryMinutes: 240, now: AT }
    expect(Object.fromEntries(await metricValues(s.ch, rule('community'), AT - 300_000, AT, opts))).toEqual({ 'c-950': byBatch.A.at_risk, 'c-951': 0 })
    expect(Object.fromEntries(await metricValues(s.ch, rule(null), AT - 300_000, AT, opts))).toEqual({ '': byBatch.A.at_risk })
    expect(AlertRuleSchema.safeParse({ id: 'x', name: 'x', metric: 'expiry_at_risk_units', window: { kind: 'last', minutes: 5 }, condition: { type: 'dynamic', weeks: 4, k: 3 } }).error?.issues[0]).toMatchObject({ path: ['condition', 'type'] })
  })

  it('FIFO: later batches wait behind earlier ones', () => {
    const at = Date.parse('2026-11-24T00:00:00Z')
    const r = fifoRisk([{ on_hand: 30, expiry_date: '2026-11-25' }, { on_hand: 30, expiry_date: '2026-11-26' }, { on_hand: 10, expiry_date: '2026-11-30' }], 10, at)
    // Day 1-2: 20 of the first batch sell; the second has capacity 30 - 30 = 0 left by its expiry; the third 70 - 60 = 10.
    expect(r.map((x) => [x.sells_before_expiry, x.at_risk])).toEqual([[20, 10], [0, 30], [10, 0]])
    expect(fifoRisk([{ on_hand: 5, expiry_date: '2026-11-20' }], 10, at)[0]).toMatchObject({ sells_before_expiry: 0, at_risk: 5 })
    expect(fifoRisk([{ on_hand: 5, expiry_date: '2026-12-20' }], 0, at)[0]).toMatchObject({ days_of_cover: null, at_risk: 5 })
  })
})

import { describe, expect, it } from 'vitest'
import { uplift } from '../../../api/reports/campaigns.js'
import type { GeneratedRecord } from '../../../generator/generator.js'
import type { OrderEvent } from '../../../schemas/index.js'
import { generatedTemplates, runScripted } from '../alerts/scripted.js'
import { apiSuite, iso } from './fixture.js'

/*
 * Campaign effect recovers a planted uplift: community k-1 had 20, 22, 18 and 20 orders in the same
 * two weekday-hours of the four previous weeks, and 40 during the campaign (each order a new user).
 */

const HOUR = 3_600_000
const WEEK = 7 * 86_400_000
const C = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR

/** The planted orders' lines: the template's first line, a second sku, and that sku again at a second price. */
function plantedLines(): OrderEvent['lines'] {
  const [first] = generatedTemplates(6).order.lines
  const other = { ...first!, sku: `${first!.sku}-b`, qty: 1 }
  return [first!, other, { ...other, unitPriceCents: other.unitPriceCents - 1 }]
}

function orders(): (time: number) => GeneratedRecord {
  const lines = plantedLines()
  const template = { ...generatedTemplates(6).order, lines, amountCents: lines.reduce((sum, l) => sum + l.qty * l.unitPriceCents, 0) }
  let n = 0
  return (time) => {
    const id = `cp-${n++}`
    const event: OrderEvent = { ...template, eventId: id, orderId: id, userId: `u-${id}`, eventTime: time, communityId: 'k-1', leaderId: 'l-k-1' }
    return { type: 'order', key: id, event: { type: 'order', event } }
  }
}

describe('campaign effect', () => {
  // The API's clock is now (the fixture's clock is the end of its fill, here empty).
  const s = apiSuite('api_campaigns', {}, 0, Date.now())

  it('registers a campaign and measures its uplift against the same hours of previous weeks', async () => {
    const make = orders()
    const spread = (start: number, n: number) => Array.from({ length: n }, (_, i) => make(start + Math.floor(((i + 0.5) * 2 * HOUR) / n)))
    const baseline = [20, 22, 18, 20]
    await runScripted(s.ch, [...baseline.flatMap((n, i) => spread(C - (i + 1) * WEEK, n)), ...spread(C, 40)])
    const campaign = { id: 'spring-fruit', name: 'Spring fruit', communities: ['k-1'], from: iso(C), to: iso(C + 2 * HOUR) }
    const post = (body: unknown, role: 'admin' | 'analyst' = 'admin') => s.app.inject({ method: 'POST', url: '/v1/campaigns', payload: body as object, headers: { 'x-api-key': s.keys[role] } })
    expect((await post(campaign)).statusCode).toBe(201)
    expect((await post(campaign)).statusCode).toBe(409)
    expect((await post(campaign, 'analyst')).statusCode).toBe(403)
    expect((await post({ ...campaign, id: 'x', to: iso(C - HOUR) })).json().message).toMatch(/body\.to: must be after from/)
    expect((await post({ ...campaign, id: 'x', communities: [] })).json().message).toMatch(/body\.communities: a campaign runs in at least one community, or in a bbox/)
    expect((await s.get('/v1/campaigns', 'analyst')).body.campaigns.map((c: { id: string }) => c.id)).toEqual(['spring-fruit'])

    const res = await s.get('/v1/campaigns/spring-fruit/effect?weeks=4', 'analyst')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const expected = uplift(40, baseline)
    expect(res.body.orders).toMatchObject({ value: 40, baseline, baseline_mean: 20, uplift: 1, significant: true })
    expect(res.body.orders.low).toBeCloseTo(expected.low as number, 12)
    expect(res.body.orders.low).toBeGreaterThan(0.5)
    expect(res.body.orders.high).toBeLessThan(2)
    expect(res.body.new_users).toMatchObject({ value: 40, baseline, uplift: 1, significant: true })
    expect(res.body.gmv_cents.uplift).toBeCloseTo(1, 12)
    expect((await s.get('/v1/campaigns/nope/effect', 'analyst')).status).toBe(404)
    expect((await s.get('/v1/campaigns/spring-fruit/effect?weeks=1', 'analyst')).body.message).toMatch(/querystring\.weeks: must be 2-12/)
    expect((await s.get('/v1/campaigns/spring-fruit/effect', 'leader')).status).toBe(403)

    // The same orders measured by area: a box around their delivery point, and one elsewhere.
    const t = generatedTemplates(6).order
    const d = 0.002
    const box = [t.deliveryLon - d, t.deliveryLat - d, t.deliveryLon + d, t.deliveryLat + d]
    expect((await post({ ...campaign, id: 'area', communities: [], bbox: box })).statusCode).toBe(201)
    expect((await post({ ...campaign, id: 'away', communities: [], bbox: [box[0]! + 1, box[1]!, box[2]! + 1, box[3]!] })).statusCode).toBe(201)
    const area = (await s.get('/v1/campaigns/area/effect?weeks=4', 'analyst')).body
    expect(area, JSON.stringify(area)).toMatchObject({ measured_on: 'heatmap cells (geohash 7) in the bbox', orders: { value: 40, baseline, uplift: 1, significant: true }, new_users: { value: 40, baseline, uplift: 1 } })
    expect(area.gmv_cents.uplift).toBeCloseTo(1, 12)
    expect(area.active_users.value).toBe(40)
    expect((await s.get('/v1/campaigns/away/effect?weeks=4', 'analyst')).body).toMatchObject({ orders: { value: 0, baseline: [0, 0, 0, 0], uplift: null }, new_users: { value: 0 } })
    // By sku: one of the order's lines (every planted order has the template's lines).
    const line = t.lines[0]!
    expect((await post({ ...campaign, id: 'one-sku', skus: [line.sku] })).statusCode).toBe(201)
    const sku = (await s.get('/v1/campaigns/one-sku/effect?weeks=4', 'analyst')).body
    expect(sku).toMatchObject({ measured_on: 'products of the skus in the communities', orders: { value: 40, baseline, uplift: 1 } })
    expect(sku.gmv_cents.value).toBe(40 * line.qty * line.unitPriceCents)
    // By every sku of the orders (two skus, one of them on two lines): each order once.
    const skus = [...new Set(plantedLines().map((l) => l.sku))]
    expect(skus).toHaveLength(2)
    expect((await post({ ...campaign, id: 'all-skus', skus })).statusCode).toBe(201)
    expect((await s.get('/v1/campaigns/all-skus/effect?weeks=4', 'analyst')).body).toMatchObject({ orders: { value: 40, baseline, uplift: 1 } })
    // What a campaign cannot be.
    expect((await post({ ...campaign, id: 'x', bbox: box })).json().message).toMatch(/body\.bbox: name communities or a bbox, not both/)
    expect((await post({ ...campaign, id: 'x', communities: [], bbox: box, categories: ['fruit'] })).json().message).toMatch(/body\.bbox: a bbox campaign measures every category/)
    expect((await post({ ...campaign, id: 'x', communities: [], bbox: [box[2], box[1], box[0], box[3]] })).json().message).toMatch(/body\.bbox: min must be below max/)
  })

  it('uplift and its interval', () => {
    expect(uplift(10, [10, 10, 10])).toMatchObject({ uplift: 0, significant: false })
    expect(uplift(5, [])).toMatchObject({ uplift: null, significant: false })
    const u = uplift(30, [20, 22, 18, 20])
    expect(u.low! < u.uplift! && u.uplift! < u.high!).toBe(true)
  })
})

import { describe, expect, it } from 'vitest'
import { uplift } from '../../../api/reports/campaigns.js'
import type { GeneratedRecord } from '../../../pipelines/generator/generator.js'
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

function orders(): (time: number) => GeneratedRecord {
  const template = generatedTemplates(6).order
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
    expect((await post({ ...campaign, id: 'x', communities: [] })).json().message).toMatch(/body\.communities: a campaign runs in at least one community/)
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
  })

  it('uplift and its interval', () => {
    expect(uplift(10, [10, 10, 10])).toMatchObject({ uplift: 0, significant: false })
    expect(uplift(5, [])).toMatchObject({ uplift: null, significant: false })
    const u = uplift(30, [20, 22, 18, 20])
    expect(u.low! < u.uplift! && u.uplift! < u.high!).toBe(true)
  })
})

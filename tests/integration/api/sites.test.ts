import { describe, expect, it } from 'vitest'
import type { GeneratedRecord } from '../../../generator/generator.js'
import type { OrderEvent, OrderLine } from '../../../schemas/index.js'
import { generatedTemplates, runScripted } from '../alerts/scripted.js'
import { apiSuite, iso } from './fixture.js'

/*
 * Site selection recovers a planted truth for "snacks in the evening": s-1 has evening snack buyers
 * (the site), s-2 more evening users but no snacks, s-3 only night-time snack buyers.
 */

const HOUR = 3_600_000
const DAY = 86_400_000
/** Yesterday 10:00 UTC = 18:00 in Shanghai: the evening daypart. */
const EVENING = Math.floor((Date.now() - DAY) / DAY) * DAY + 10 * HOUR
const NIGHT = EVENING + 8 * HOUR // 02:00 in Shanghai

function orders(): (community: string, lines: OrderLine[], time: number) => GeneratedRecord[] {
  const template = generatedTemplates(8).order
  let n = 0
  return (community, lines, time) => {
    const id = `st-${n++}`
    const base: OrderEvent = { ...template, orderId: id, userId: `u-${id}`, communityId: community, leaderId: `l-${community}`, lines, amountCents: lines.reduce((a, l) => a + l.qty * l.unitPriceCents, 0), eventId: `${id}-c`, eventTime: time, status: 'created' }
    return [
      { type: 'order', key: id, event: { type: 'order', event: base } },
      { type: 'order', key: id, event: { type: 'order', event: { ...base, eventId: `${id}-p`, eventTime: time + 1000, status: 'paid' } } },
    ]
  }
}

describe('site selection', () => {
  const s = apiSuite('api_sites', {}, 0)

  it('ranks the community with evening snack buyers first, then the night-time snack buyers, then the busy community without snacks', async () => {
    const make = orders()
    const snacks: OrderLine[] = [{ sku: 'sn1', categoryId: 'snacks', qty: 1, unitPriceCents: 500 }]
    const fruit: OrderLine[] = [{ sku: 'fr1', categoryId: 'fruit', qty: 1, unitPriceCents: 500 }]
    const records = [
      ...Array.from({ length: 30 }, (_, i) => make('s-1', snacks, EVENING + i * 60_000)),
      ...Array.from({ length: 40 }, (_, i) => make('s-2', fruit, EVENING + i * 60_000)),
      ...Array.from({ length: 5 }, (_, i) => make('s-3', snacks, NIGHT + i * 60_000)),
    ].flat()
    await runScripted(s.ch, records)
    const res = await s.get(`/v1/sites/rank?from=${iso(EVENING - DAY)}&to=${iso(EVENING + DAY)}&category=snacks&daypart=evening&tz=Asia/Shanghai`, 'analyst')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.communities.map((c: { community_id: string }) => c.community_id)).toEqual(['s-1', 's-3', 's-2'])
    const [s1, s3, s2] = res.body.communities
    expect(s1).toMatchObject({ active_users: 30, affinity: 1 })
    expect(s2).toMatchObject({ active_users: 40, affinity: 0, gmv_density_cents: 0 })
    expect(s3).toMatchObject({ active_users: 0, affinity: 1 })
    expect(s1.score).toBeCloseTo((30 / 40 + 1 + 1) / 3, 12)
    expect(s2.score).toBeCloseTo(1 / 3, 12)
    // A price band the target is not in gives it no affinity.
    const band = await s.get(`/v1/sites/rank?from=${iso(EVENING - DAY)}&to=${iso(EVENING + DAY)}&category=snacks&priceBand=80 and over`, 'analyst')
    expect(band.body.communities.every((c: { affinity: number }) => c.affinity === 0)).toBe(true)
    expect((await s.get('/v1/sites/rank?daypart=brunch', 'analyst')).body.message).toMatch(/querystring\.daypart/)
    expect((await s.get('/v1/sites/rank', 'leader')).status).toBe(403)
  })
})

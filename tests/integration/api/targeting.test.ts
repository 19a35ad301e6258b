import { describe, expect, it } from 'vitest'
import { cosine } from '../../../api/reports/targeting.js'
import type { GeneratedRecord } from '../../../generator/generator.js'
import type { OrderEvent, OrderLine } from '../../../schemas/index.js'
import { generatedTemplates, runScripted } from '../alerts/scripted.js'
import { apiSuite, iso } from './fixture.js'

/*
 * Targeting recovers a planted truth: t-1 buys fruit, dairy and snacks; t-2 buys fruit and dairy in
 * the same proportions but no snacks; t-3 buys only meat. For snacks, t-2 is the community with
 * room (high affinity, no penetration), t-3 is not a target at all.
 */

const HOUR = 3_600_000
const START = Math.floor((Date.now() - 6 * HOUR) / HOUR) * HOUR

function orders(): (community: string, lines: OrderLine[], time: number) => GeneratedRecord {
  const template = generatedTemplates(4).order
  let n = 0
  return (community, lines, time) => {
    const id = `tg-${n++}`
    const event: OrderEvent = { ...template, eventId: id, orderId: id, eventTime: time, communityId: community, leaderId: `l-${community}`, lines, amountCents: lines.reduce((a, l) => a + l.qty * l.unitPriceCents, 0) }
    return { type: 'order', key: id, event: { type: 'order', event } }
  }
}

describe('targeting', () => {
  const s = apiSuite('api_targeting', {}, 0)

  it('ranks the community with the same mix and no sales of the target first among non-buyers; a different mix has no affinity', async () => {
    const make = orders()
    const line = (sku: string, categoryId: string, cents: number): OrderLine => ({ sku, categoryId, qty: 1, unitPriceCents: cents })
    const records: GeneratedRecord[] = []
    for (let i = 0; i < 20; i++) {
      const at = START + i * 60_000
      records.push(make('t-1', [line('f1', 'fruit', 500), line('d1', 'dairy', 300), line('s1', 'snacks', 200)], at))
      records.push(make('t-2', [line('f1', 'fruit', 500), line('d1', 'dairy', 300)], at))
      records.push(make('t-3', [line('m1', 'meat', 900)], at))
    }
    await runScripted(s.ch, records)
    const range = `from=${iso(START - HOUR)}&to=${iso(START + 2 * HOUR)}`
    const res = await s.get(`/v1/targeting?${range}&category=snacks`, 'analyst')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const [first, second, third] = res.body.communities
    expect(res.body.sells_in).toBe(1)
    expect(first).toMatchObject({ community_id: 't-1', affinity: 1, penetration: 0.2 })
    expect(second.community_id).toBe('t-2')
    expect(second.penetration).toBe(0)
    // t-2's mix (0.625, 0.375, 0) against t-1's (0.5, 0.3, 0.2).
    expect(second.affinity).toBeCloseTo((0.625 * 0.5 + 0.375 * 0.3) / Math.sqrt((0.625 ** 2 + 0.375 ** 2) * (0.5 ** 2 + 0.3 ** 2 + 0.2 ** 2)), 9)
    expect(third).toMatchObject({ community_id: 't-3', affinity: 0, penetration: 0 })
    // By sku: the same answer through the products cube.
    const bySku = await s.get(`/v1/targeting?${range}&sku=s1`, 'analyst')
    expect(bySku.body.communities.map((c: { community_id: string }) => c.community_id)).toEqual(['t-1', 't-2', 't-3'])
    expect((await s.get(`/v1/targeting?${range}`, 'analyst')).body.message).toMatch(/querystring\.category: give exactly one of category or sku/)
    expect((await s.get(`/v1/targeting?${range}&category=snacks`, 'leader')).status).toBe(403)
  })

  it('cosine similarity of sparse vectors', () => {
    expect(cosine(new Map([['a', 1]]), new Map([['a', 2]]))).toBe(1)
    expect(cosine(new Map([['a', 1]]), new Map([['b', 1]]))).toBe(0)
    expect(cosine(new Map(), new Map([['b', 1]]))).toBeNull()
  })
})

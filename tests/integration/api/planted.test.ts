import { describe, expect, it } from 'vitest'
import { apiSuite, DAY_START, iso } from './fixture.js'

const DAY = 86_400_000

/*
 * Issue 22: truths the generator plants, recovered from generated data through the real pipelines:
 * community c-007 falls silent (no session, no new order) two hours before the data ends, and the
 * data-quality report must name it, and only it, as silent; community c-003's warehouse receives
 * 3,000 of its best-selling sku that expire the next day, and the expiry warning must flag that
 * batch. (600 was planted before: on a Saturday the sku's extrapolated sales covered most of it,
 * and the test failed by the day of the week; 3,000 is far beyond any day's demand.)
 */

const HOUR = 3_600_000
const SILENT_FROM = DAY_START + 2 * HOUR
const PLANTED = 3_000

describe('planted truths', () => {
  const s = apiSuite('api_planted', {}, 4, DAY_START, {
    silent: [{ communityId: 'c-007', from: SILENT_FROM }],
    overstock: [{ communityId: 'c-003', at: DAY_START + HOUR, qty: PLANTED, expiresInDays: 1 }],
  })

  it('the quality report names the silent community, with its last activity before the silence, and no other', async () => {
    const res = await s.get(`/v1/quality?from=${iso(DAY_START)}&to=${iso(s.end)}&silentMinutes=60`, 'analyst')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.silent_communities.map((c: { community_id: string }) => c.community_id)).toEqual(['c-007'])
    const [silent] = res.body.silent_communities as { last_seen: string; silent_minutes: number }[]
    // Its last activity: the last clicks of sessions begun before the silence, minutes after it.
    expect(Date.parse(silent!.last_seen)).toBeGreaterThan(SILENT_FROM - 30 * 60_000)
    expect(Date.parse(silent!.last_seen)).toBeLessThan(SILENT_FROM + 15 * 60_000)
    expect(silent!.silent_minutes).toBeGreaterThanOrEqual(105)
    // The other communities kept shopping: each has activity in the last hour of the data.
    const active = await s.sql<{ n: number }>(`SELECT uniqExact(community_id) AS n FROM activity_minute WHERE window_start >= toDateTime({since:UInt32}, 'UTC')`, { since: (s.end - HOUR) / 1000 })
    expect(Number(active[0]!.n)).toBe(29)
  })

  it('the expiry warning flags the planted batch: most of it cannot sell before it expires', async () => {
    const res = await s.get(`/v1/expiry?at=${iso(s.end)}`, 'analyst')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const planted = res.body.batches.find((b: { batch_id: string }) => b.batch_id === 'planted-0')
    expect(planted, JSON.stringify(res.body.batches.map((b: { batch_id: string }) => b.batch_id))).toBeDefined()
    expect(planted).toMatchObject({ community_id: 'c-003', risk: 'high' })
    expect(planted.on_hand).toBeLessThanOrEqual(PLANTED)
    expect(planted.at_risk).toBe(planted.on_hand - planted.sells_before_expiry)
    expect(planted.at_risk).toBeGreaterThan(PLANTED / 2)
  })
})

describe('planted truths: a campaign with a known uplift', () => {
  // A small city over 29 days (the campaign's day and four weeks before it); in c-002 a campaign doubles the sessions for two morning hours.
  const from = DAY_START + HOUR
  const to = DAY_START + 3 * HOUR
  const UPLIFT = 1
  const s = apiSuite('api_planted_campaign', {}, 29 * 24 + 4, DAY_START - 29 * DAY, { communities: 3, skus: 20, sessionsPerMinute: 20, campaign: [{ communityId: 'c-002', from, to, uplift: UPLIFT }] })

  it('the campaign effect estimates the planted uplift: the true value inside its 95 % interval, for orders and GMV', async () => {
    const campaign = { id: 'planted', name: 'Planted morning', communities: ['c-002'], from: iso(from), to: iso(to) }
    const post = await s.app.inject({ method: 'POST', url: '/v1/campaigns', payload: campaign, headers: { 'x-api-key': s.keys.admin } })
    expect(post.statusCode, post.body).toBe(201)
    const res = await s.get('/v1/campaigns/planted/effect?weeks=4', 'analyst')
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    // Sessions double; a resident pool of fixed size means active users do not (the same people shop
    // more), so the planted truth is in the orders and the money.
    for (const measure of ['orders', 'gmv_cents'] as const) {
      const m = res.body[measure] as { value: number; baseline_mean: number; uplift: number; low: number; high: number; significant: boolean }
      expect(m.baseline_mean, measure).toBeGreaterThan(30)
      expect(m.low, `${measure}: ${JSON.stringify(m)}`).toBeLessThanOrEqual(UPLIFT)
      expect(m.high, `${measure}: ${JSON.stringify(m)}`).toBeGreaterThanOrEqual(UPLIFT)
      expect(m.significant, measure).toBe(true)
    }
  })
})

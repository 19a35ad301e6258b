import { describe, expect, it } from 'vitest'
import { AlertRuleSchema, type Metric } from '../../../queries/index.js'
import { metricValues } from '../../../jobs/index.js'
import { insertRows } from '../../../sinks/index.js'
import { apiSuite } from '../api/fixture.js'

/*
 * Every alert metric, per community, over a window of cubes the pipelines filled, against plain
 * SQL over the raw events.
 */

const MIN = 60_000

describe('alert metrics equal plain SQL over the raw events', () => {
  const s = apiSuite('alert_metrics')
  const rule = (metric: Metric) => AlertRuleSchema.parse({ id: 'm', name: 'm', metric, groupBy: metric === 'freshness_seconds' || metric === 'dead_letter_rate' ? null : 'community', window: { kind: 'last', minutes: 90 }, condition: { type: 'static', op: '>', threshold: 1 } })
  const IN = `toStartOfMinute(event_time) >= toDateTime({f:UInt32}, 'UTC') AND toStartOfMinute(event_time) < toDateTime({t:UInt32}, 'UTC')`

  it('orders, GMV, paying users, active users, late deliveries and complaint rate per community', async () => {
    const to = Math.floor(s.end / MIN) * MIN - 30 * MIN
    const from = to - 90 * MIN
    const p = { f: from / 1000, t: to / 1000, fm: from, tm: to }
    const oracle: Record<Exclude<Metric, 'freshness_seconds' | 'dead_letter_rate' | 'expiry_at_risk_units'>, string> = {
      orders: `SELECT community_id AS g, uniqExact(order_id) AS v FROM order_events WHERE status = 'paid' AND ${IN} GROUP BY g`,
      gmv_cents: `SELECT community_id AS g, sum(amount_cents) AS v FROM order_events WHERE status = 'paid' AND ${IN} GROUP BY g`,
      paying_users: `SELECT community_id AS g, uniqExact(user_id) AS v FROM order_events WHERE status = 'paid' AND ${IN} GROUP BY g`,
      active_users: `SELECT community_id AS g, uniqExact(user_id) AS v FROM (SELECT community_id, user_id, event_time FROM behaviour_events WHERE ${IN}
                     UNION ALL SELECT community_id, user_id, event_time FROM order_events WHERE status = 'created' AND ${IN}) GROUP BY g`,
      late_deliveries: `SELECT community_id AS g, countIf(d >= fromUnixTimestamp64Milli({fm:Int64}, 'UTC') AND d < fromUnixTimestamp64Milli({tm:Int64}, 'UTC') AND dateDiff('second', p, d) > 14400) AS v
                        FROM (SELECT order_id, community_id, minIf(event_time, status = 'paid') AS p, minIf(event_time, status = 'delivered') AS d FROM order_events GROUP BY ALL
                              HAVING countIf(status = 'paid') > 0 AND countIf(status = 'delivered') > 0) GROUP BY g`,
      complaint_rate: `SELECT g, k / o AS v FROM (SELECT community_id AS g, countIf(status = 'complaint') AS k, uniqExactIf(order_id, status = 'paid') AS o FROM order_events WHERE ${IN} GROUP BY g) WHERE o > 0`,
    }
    for (const [metric, sql] of Object.entries(oracle) as [Exclude<Metric, 'freshness_seconds' | 'dead_letter_rate' | 'expiry_at_risk_units'>, string][]) {
      const got = await metricValues(s.ch, rule(metric), from, to, { lateDeliveryMinutes: 240, now: s.end })
      // Groups with a zero count (a community with only a cancellation in the window) are left out on both sides.
      const keep = ([, v]: [string, number]) => metric === 'complaint_rate' || v !== 0
      const wantNonZero = new Map((await s.sql<{ g: string; v: number }>(sql, p)).map((r): [string, number] => [r.g, Number(r.v)]).filter(keep))
      const gotNonZero = new Map([...got].filter(keep))
      expect(wantNonZero.size, `${metric}: the oracle side is empty`).toBeGreaterThan(0)
      expect(Object.fromEntries(gotNonZero), metric).toEqual(Object.fromEntries(wantNonZero))
    }
  })

  it('dead-letter rate: dead-lettered records over records read, from the quality counts every flush writes', async () => {
    const minute = Math.floor(s.end / MIN) * MIN
    const window = { from: minute - 10 * MIN, to: minute + MIN }
    const [read] = await s.sql<{ n: number }>(`SELECT sumIf(events, kind = 'records') AS n FROM quality_minute WHERE window_start >= toDateTime({f:UInt32}) AND window_start < toDateTime({t:UInt32})`, { f: window.from / 1000, t: window.to / 1000 })
    // The generator source's records are stamped with the end of the fill; they are exactly the events produced.
    expect(Number(read?.n)).toBe(s.events)
    expect(Object.fromEntries(await metricValues(s.ch, rule('dead_letter_rate'), window.from, window.to, { lateDeliveryMinutes: 240, now: s.end }))).toEqual({ '': 0 })
    await insertRows(s.ch, 'quality_minute', [{ window_start: minute / 1000, pipeline_set: 'x', topic: 't', kind: 'dead_letter', code: 'DECODE_JSON', events: 50 }])
    expect(Object.fromEntries(await metricValues(s.ch, rule('dead_letter_rate'), window.from, window.to, { lateDeliveryMinutes: 240, now: s.end }))).toEqual({ '': 50 / s.events })
    expect((await metricValues(s.ch, rule('dead_letter_rate'), 0, MIN, { lateDeliveryMinutes: 240, now: s.end })).size).toBe(0)
  })

  it('freshness: seconds the slowest partition\'s watermark is behind the clock; no watermark is no data', async () => {
    expect((await metricValues(s.ch, rule('freshness_seconds'), 0, 1, { lateDeliveryMinutes: 240, now: s.end })).size).toBe(0)
    const row = (partition: number, watermark: number, updated: number) => ({ group_id: 'g', topic: 't', partition, watermark, event_watermark: watermark, idle: 0, worker: 'w', updated_at: updated })
    await insertRows(s.ch, 'streamcube_watermarks', [row(0, s.end - 90_000, s.end - 5000), row(1, s.end - 20_000, s.end - 5000), row(0, s.end - 30_000, s.end - 1000)])
    // Partition 0's latest row says 30 s behind; partition 1 says 20 s: the group is 30 s behind.
    expect(Object.fromEntries(await metricValues(s.ch, rule('freshness_seconds'), 0, 1, { lateDeliveryMinutes: 240, now: s.end }))).toEqual({ '': 30 })
  })
})

import { pino } from 'pino'
import { beforeAll, describe, expect, it } from 'vitest'
import { AlertEvaluator } from '../../../jobs/index.js'
import { AlertRuleSchema, putRule, type AlertRuleInput } from '../../../queries/index.js'
import type { ClickHouse } from '../../../sinks/index.js'
import { openSecondConnection, testDatabase } from '../../services/clickhouse.js'
import { waitFor } from '../engine/harness.js'
import { receiver, scriptedOrders } from './scripted.js'

/*
 * Alerts end to end: scripted orders of one community go through the real pipelines into the
 * cubes; evaluators step through the minutes (ticks passed explicitly, no waiting on the clock)
 * and notify a real HTTP receiver.
 */

const MIN = 60_000
const HOUR = 3_600_000
const SECRET = 's3cret'
const silent = pino({ level: 'silent' })
/** Two days ago at 02:00 UTC, on a minute boundary. */
const START = Math.floor((Date.now() - 2 * 86_400_000) / HOUR) * HOUR

/**
 * Orders per minute of community c-900 over three hours: quiet (2/min), a surge (14/min), a
 * plateau inside the hysteresis band (8-9/min), quiet again, then values oscillating inside the
 * band (6 and 11/min) with a one-minute spike (40) shorter than `for`.
 */
const COUNTS = [
  ...Array(30).fill(2),
  ...Array(30).fill(14),
  ...Array.from({ length: 30 }, (_, i) => (i % 2 ? 9 : 8)),
  ...Array(30).fill(2),
  ...Array.from({ length: 60 }, (_, i) => (i === 30 ? 40 : i % 2 ? 11 : 6)),
] as number[]

const RULE: AlertRuleInput = {
  id: 'orders-surge',
  name: 'Order surge',
  metric: 'orders',
  groupBy: 'community',
  window: { kind: 'last', minutes: 5 },
  condition: { type: 'static', op: '>', threshold: 50, recovery: 30 },
  forSeconds: 300,
  severity: 'critical',
  labels: { team: 'ops' },
  notify: [{ type: 'webhook', name: 'ops-hook', url: 'http://placeholder', secretEnv: 'HOOK_SECRET' }],
}

/** The 5-minute window sum at minute t (window [t−5, t)). */
const windowSum = (t: number) => COUNTS.slice(Math.max(0, t - 5), t).reduce((a, b) => a + b, 0)

/** The minutes at which the rule must fire and resolve, from the counts (the oracle). */
function expected(): { fire: number[]; resolve: number[] } {
  const fire: number[] = []
  const resolve: number[] = []
  let firing = false
  let pending: number | null = null
  for (let t = 1; t <= COUNTS.length; t++) {
    const v = windowSum(t)
    if (firing) {
      if (v < 30) {
        firing = false
        resolve.push(t)
      }
    } else if (v > 50) {
      pending ??= t
      if (t - pending >= 5) {
        firing = true
        pending = null
        fire.push(t)
      }
    } else pending = null
  }
  return { fire, resolve }
}

function evaluator(ch: ClickHouse, instance: string): AlertEvaluator {
  return new AlertEvaluator({
    ch, log: silent, instance, intervalMs: MIN, timezone: 'UTC', lateDeliveryMinutes: 240,
    webhookTimeoutMs: 2000, webhookRetry: { initialMs: 20, maxMs: 200, factor: 2, maxElapsedMs: 60_000 },
    env: { HOOK_SECRET: SECRET }, now: () => START + COUNTS.length * MIN,
  })
}

describe('alerts: static threshold with for, hysteresis and exactly-once notifications', () => {
  const ch = testDatabase('alerts')
  beforeAll(async () => {
    const events = await scriptedOrders(ch, [{ start: START, community: 'c-900', counts: COUNTS }])
    expect(events).toBe(COUNTS.reduce((a, b) => a + b, 0))
  })

  it('fires once after the for duration, resolves once below the recovery threshold, ignores oscillation inside the band', async () => {
    const hook = await receiver(SECRET)
    const rule = AlertRuleSchema.parse({ ...RULE, notify: [{ ...RULE.notify?.[0], url: hook.url }] })
    await putRule(ch, rule, 'test')
    const ev = evaluator(await openSecondConnection(ch), 'solo')
    const transitions: { t: number; kind: string }[] = []
    for (let t = 1; t <= COUNTS.length; t++) {
      const r = await ev.evaluateOnce(START + t * MIN)
      for (const x of r.transitions) transitions.push({ t, kind: x.kind })
    }
    await ev.drain()
    const want = expected()
    expect(want.fire.length).toBe(1)
    expect(want.resolve.length).toBe(1)
    // The spike (a breach shorter than forSeconds) goes pending and back, never fires.
    expect(transitions.filter((x) => x.kind === 'firing')).toEqual(want.fire.map((t) => ({ t, kind: 'firing' })))
    expect(transitions.filter((x) => x.kind === 'resolved')).toEqual(want.resolve.map((t) => ({ t, kind: 'resolved' })))
    expect(transitions.filter((x) => x.kind === 'pending').length).toBeGreaterThanOrEqual(2)
    expect(hook.accepted.map((a) => a.status)).toEqual(['firing', 'resolved'])
    const [firing, resolved] = hook.accepted
    expect(firing?.signed).toBe(true)
    expect(firing?.key).toBe('orders-surge|c-900|firing|1')
    expect(resolved?.key).toBe('orders-surge|c-900|resolved|1')
    // Alertmanager webhook format: version 4, labels and annotations of the alert.
    expect(firing?.body).toMatchObject({ version: '4', status: 'firing', receiver: 'ops-hook', groupLabels: { rule_id: 'orders-surge' } })
    expect(firing?.body.alerts[0]?.labels).toMatchObject({ alertname: 'Order surge', severity: 'critical', community: 'c-900', team: 'ops' })
    expect(firing?.body.alerts[0]?.annotations.value).toBe(String(windowSum(want.fire[0] as number)))
    // Values the evaluator saw equal the window sums of the scripted orders.
    const [last] = await (await ch.client.query({ query: "SELECT argMax(value, version) AS v FROM alert_state WHERE rule_id = 'orders-surge' AND group_key = 'c-900'", format: 'JSONEachRow' })).json<{ v: number }>()
    expect(last?.v).toBe(windowSum(COUNTS.length))
    await hook.close()
  })

  it('two evaluators at once, receiver down during the firing: each transition delivered once, after the receiver returns', async () => {
    const hook = await receiver(SECRET)
    const rule = AlertRuleSchema.parse({ ...RULE, id: 'orders-surge-2', notify: [{ ...RULE.notify?.[0], url: hook.url }] })
    await putRule(ch, rule, 'test')
    const [a, b] = [evaluator(await openSecondConnection(ch), 'evaluator-a'), evaluator(await openSecondConnection(ch), 'evaluator-b')]
    const want = expected()
    for (let t = 1; t <= COUNTS.length; t++) {
      if (t === want.fire[0]) hook.down = true
      await Promise.all([a.evaluateOnce(START + t * MIN), b.evaluateOnce(START + t * MIN)])
      if (t === want.fire[0]) {
        await waitFor('the receiver to refuse three attempts', async () => hook.rejected >= 3, 30_000, 20)
        hook.down = false
        await waitFor('the firing notification to arrive', async () => hook.accepted.length === 1, 30_000, 20)
      }
    }
    await Promise.all([a.drain(), b.drain()])
    expect(hook.accepted.map((x) => `${x.status}:${x.key}`)).toEqual(['firing:orders-surge-2|c-900|firing|1', 'resolved:orders-surge-2|c-900|resolved|1'])
    const rs = await ch.client.query({ query: "SELECT transition, count() AS n, uniqExact(instance) AS i FROM alert_history WHERE rule_id = 'orders-surge-2' AND transition IN ('firing', 'resolved') GROUP BY transition ORDER BY transition", format: 'JSONEachRow' })
    const rows = (await rs.json<{ transition: string; n: unknown; i: unknown }>()).map((r) => ({ transition: r.transition, n: Number(r.n), i: Number(r.i) }))
    // Both instances recorded each transition; ClickHouse kept one row of each.
    expect(rows).toEqual([{ transition: 'firing', n: 1, i: 1 }, { transition: 'resolved', n: 1, i: 1 }])
    await hook.close()
  })
})

/** A database of its own with the scripted orders of community c-900 (beforeAll; dropped afterAll). */
function scriptedDatabase(name: string): { ch: () => ClickHouse } {
  const ch = testDatabase(name)
  beforeAll(async () => {
    await scriptedOrders(ch, [{ start: START, community: 'c-900', counts: COUNTS }])
  })
  return { ch: () => ch }
}

describe('alerts: the outbox (issue 21)', () => {
  const db = scriptedDatabase('alerts_outbox')

  it('the sender killed mid-retry, its notification is still delivered, once, by the evaluator that is alive', async () => {
    const ch = db.ch()
    const hook = await receiver(SECRET)
    const rule = AlertRuleSchema.parse({ ...RULE, id: 'orders-surge-4', notify: [{ ...RULE.notify?.[0], url: hook.url }] })
    await putRule(ch, rule, 'test')
    const make = async (instance: string) => new AlertEvaluator({
      ch: await openSecondConnection(ch), log: silent, instance, intervalMs: MIN, timezone: 'UTC', lateDeliveryMinutes: 240,
      webhookTimeoutMs: 2000, webhookRetry: { initialMs: 200, maxMs: 400, factor: 2, maxElapsedMs: 60_000 },
      env: { HOOK_SECRET: SECRET }, now: () => START + COUNTS.length * MIN, outboxLeaseMs: 1_000,
    })
    const [a, b] = [await make('sender'), await make('survivor')]
    const want = expected()
    // The sender alone evaluates up to the firing: it claims the transition and its notification.
    hook.down = true
    for (let t = 1; t <= want.fire[0]!; t++) await a.evaluateOnce(START + t * MIN)
    await waitFor('the receiver to refuse two attempts', async () => hook.rejected >= 2, 30_000, 10)
    a.crash() // killed mid-retry: it sends, retries and writes nothing more
    const refusedByNow = hook.rejected
    hook.down = false
    // The survivor's next evaluations find the notification pending, its sender silent past the lease.
    const key = 'orders-surge-4|c-900|firing|1'
    await waitFor('the survivor to deliver it', async () => {
      await b.evaluateOnce(START + want.fire[0]! * MIN)
      await b.drain()
      return hook.accepted.some((x) => x.key === key)
    }, 30_000, 250)
    await b.evaluateOnce(START + want.fire[0]! * MIN)
    await b.drain()
    await a.drain()
    expect(hook.accepted.filter((x) => x.key === key).map((x) => x.status)).toEqual(['firing'])
    expect(hook.rejected, 'the killed sender attempted again after its crash').toBe(refusedByNow)
    const rs = await ch.client.query({ query: 'SELECT status, owner FROM alert_outbox FINAL WHERE event_key = {k:String}', query_params: { k: key }, format: 'JSONEachRow' })
    expect(await rs.json()).toEqual([{ status: 'sent', owner: 'survivor' }])
    await hook.close()
  })
})

describe('alerts: undeliverable notifications and routes', () => {
  const db = scriptedDatabase('alerts_dead')

  it('a receiver that never accepts gets every retry, then a dead letter; a notifier whose route does not match is not called', async () => {
    const ch = db.ch()
    const dead = await receiver(SECRET)
    dead.down = true
    const other = await receiver(SECRET)
    const rule = AlertRuleSchema.parse({
      ...RULE, id: 'orders-surge-3',
      notify: [{ type: 'webhook', name: 'down', url: dead.url }, { type: 'webhook', name: 'info-only', url: other.url, match: { severity: ['info'] } }],
    })
    await putRule(ch, rule, 'test')
    const ev = new AlertEvaluator({
      ch: await openSecondConnection(ch), log: silent, instance: 'x', intervalMs: MIN, timezone: 'UTC', lateDeliveryMinutes: 240,
      webhookTimeoutMs: 1000, webhookRetry: { initialMs: 5, maxMs: 20, factor: 2, maxElapsedMs: 150 },
    })
    for (let t = 1; t <= COUNTS.length; t++) await ev.evaluateOnce(START + t * MIN)
    await ev.drain()
    expect(dead.accepted).toEqual([])
    expect(dead.rejected).toBeGreaterThanOrEqual(4)
    expect(other.rejected + other.accepted.length).toBe(0)
    const rs = await ch.client.query({ query: "SELECT event_key, receiver, attempts, error, JSONExtractString(payload, 'status') AS status FROM alert_dead_letters WHERE rule_id = 'orders-surge-3' ORDER BY event_key", format: 'JSONEachRow' })
    const rows = await rs.json<{ event_key: string; receiver: string; attempts: number; error: string; status: string }>()
    expect(rows.map((r) => [r.event_key, r.receiver, r.status])).toEqual([
      ['orders-surge-3|c-900|firing|1', 'down', 'firing'],
      ['orders-surge-3|c-900|resolved|1', 'down', 'resolved'],
    ])
    for (const r of rows) {
      expect(Number(r.attempts)).toBeGreaterThanOrEqual(2)
      expect(r.error).toMatch(/answered 503/)
    }
    await dead.close()
    await other.close()
  })
})

describe('alerts: dynamic threshold against the same hour of previous weeks', () => {
  const ch = testDatabase('alerts_dyn')
  const WEEK = 7 * 86_400_000
  /** This week's hours: H (normally quiet) and P (a regular weekly peak). */
  const H = Math.floor((Date.now() - 86_400_000) / HOUR) * HOUR
  const P = H + 3 * HOUR
  beforeAll(async () => {
    // Four previous weeks: hour H had 18-23 orders, hour P 55-64; this week H spikes to 60, P has 62.
    const quiet = [20, 18, 23, 21]
    const peak = [58, 64, 55, 61]
    const schedule = [
      ...quiet.map((n, i) => ({ start: H - (i + 1) * WEEK, community: 'c-901', counts: [n], stepMs: HOUR })),
      ...peak.map((n, i) => ({ start: P - (i + 1) * WEEK, community: 'c-901', counts: [n], stepMs: HOUR })),
      { start: H, community: 'c-901', counts: [60], stepMs: HOUR },
      { start: P, community: 'c-901', counts: [62], stepMs: HOUR },
    ]
    await scriptedOrders(ch, schedule)
  })

  it('a spike against the weekly pattern fires; the normal weekly peak does not', async () => {
    const hook = await receiver(SECRET)
    await putRule(ch, AlertRuleSchema.parse({
      id: 'orders-anomaly', name: 'Orders off their weekly pattern', metric: 'orders', window: { kind: 'closed_hour' },
      condition: { type: 'dynamic', weeks: 4, direction: 'above', k: 3 }, notify: [{ type: 'webhook', url: hook.url, secretEnv: 'HOOK_SECRET' }],
    }), 'test')
    const ev = evaluator(await openSecondConnection(ch), 'dyn')
    const atH = await ev.evaluateOnce(H + HOUR) // the closed hour is H
    const atP = await ev.evaluateOnce(P + HOUR) // the closed hour is P
    await ev.drain()
    expect(atH.transitions.map((t) => t.kind)).toEqual(['firing'])
    // At P the value (62) is inside the baseline band of P's weeks: the H alert resolves, nothing new fires.
    expect(atP.transitions.map((t) => t.kind)).toEqual(['resolved'])
    expect(hook.accepted.map((a) => a.status)).toEqual(['firing', 'resolved'])
    const threshold = Number(hook.accepted[0]?.body.alerts[0]?.annotations.threshold)
    expect(threshold).toBeGreaterThan(23)
    expect(threshold).toBeLessThan(60)
    await hook.close()
  })
})

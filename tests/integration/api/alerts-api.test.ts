import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { AlertEvaluator } from '../../../jobs/index.js'
import { listRules } from '../../../queries/index.js'
import { openSecondConnection } from '../../services/clickhouse.js'
import { apiSuite } from './fixture.js'

const RULE = {
  id: 'no-orders',
  name: 'No orders',
  metric: 'orders',
  window: { kind: 'last', minutes: 15 },
  condition: { type: 'static', op: '<', threshold: 1 },
  severity: 'warning',
}

describe('alert rules through the API, shared through ClickHouse', () => {
  const s = apiSuite('api_alerts', {}, 0)
  const send = (method: 'POST' | 'PUT' | 'DELETE', url: string, role: keyof typeof s.keys | null, payload?: unknown) =>
    s.app.inject({ method, url, payload: payload as object, headers: role ? { 'x-api-key': s.keys[role] } : {} })

  it('admin creates, reads, replaces and deletes rules; others may read or not at all', async () => {
    expect((await send('POST', '/v1/alerts/rules', null, RULE)).statusCode).toBe(401)
    expect((await send('POST', '/v1/alerts/rules', 'analyst', RULE)).json()).toMatchObject({ statusCode: 403, code: 'API_FORBIDDEN' })
    const created = await send('POST', '/v1/alerts/rules', 'admin', RULE)
    expect(created.statusCode).toBe(201)
    expect(created.json()).toMatchObject({ ...RULE, forSeconds: 0, groupBy: null, notify: [{ type: 'log' }] })
    expect((await send('POST', '/v1/alerts/rules', 'admin', RULE)).json()).toMatchObject({ statusCode: 409, code: 'API_CONFLICT' })
    expect((await s.get('/v1/alerts/rules', 'analyst')).body.rules.map((r: { id: string }) => r.id)).toEqual(['no-orders'])
    expect((await s.get('/v1/alerts/rules', 'leader')).status).toBe(403)
    expect((await s.get('/v1/alerts/rules/no-orders', 'admin')).body.name).toBe('No orders')
    expect((await s.get('/v1/alerts/rules/nope', 'admin')).status).toBe(404)

    const replaced = await send('PUT', '/v1/alerts/rules/no-orders', 'admin', { ...RULE, name: 'No orders at all', forSeconds: 0 })
    expect(replaced.statusCode).toBe(200)
    expect((await s.get('/v1/alerts/rules/no-orders', 'admin')).body.name).toBe('No orders at all')
    expect((await send('PUT', '/v1/alerts/rules/other', 'admin', RULE)).json().message).toMatch(/body\.id: must equal the rule id in the path/)

    // Another instance (its own connection) sees the same rules.
    const other = await openSecondConnection(s.ch)
    expect((await listRules(other)).map((r) => r.name)).toEqual(['No orders at all'])
    await other.close()

    expect((await send('DELETE', '/v1/alerts/rules/no-orders', 'admin')).statusCode).toBe(204)
    expect((await s.get('/v1/alerts/rules', 'admin')).body.rules).toEqual([])
    expect((await send('DELETE', '/v1/alerts/rules/no-orders', 'admin')).statusCode).toBe(404)
  })

  it('a bad rule is a 400 naming the field and the reason', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...RULE, metric: 'revenue' }, /body\.metric/],
      [{ ...RULE, window: { kind: 'last', minutes: 0 } }, /body\.window\.minutes/],
      [{ ...RULE, condition: { type: 'static', op: '>', threshold: 10, recovery: 20 } }, /body\.condition\.recovery: must lie on the resolved side/],
      [{ ...RULE, metric: 'active_users', groupBy: 'leader' }, /body\.groupBy: metric active_users cannot be grouped by leader/],
      [{ ...RULE, filters: { sku: ['s-1'] } }, /body\.filters/],
      [{ ...RULE, condition: { type: 'dynamic', weeks: 4 } }, /body\.condition\.k: a dynamic condition needs k/],
      [{ ...RULE, notify: [{ type: 'webhook', url: 'not a url' }] }, /body\.notify\.0\.url/],
      [{ ...RULE, repeatSeconds: 5 }, /body\.repeatSeconds/],
      [{ ...RULE, id: 'bad id' }, /body\.id/],
      [{ ...RULE, extra: 1 }, /body: Unrecognized key|body\..*extra/],
    ]
    for (const [rule, message] of cases) {
      const res = await send('POST', '/v1/alerts/rules', 'admin', rule)
      expect(res.statusCode, JSON.stringify(rule)).toBe(400)
      expect(res.json().message, JSON.stringify(rule)).toMatch(message)
    }
  })

  it('rules from a YAML file are applied (GitOps); the evaluator\'s states and history are served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'))
    const file = join(dir, 'rules.yaml')
    writeFileSync(file, `rules:\n  - id: quiet\n    name: Quiet city\n    metric: orders\n    window: { kind: last, minutes: 15 }\n    condition: { type: static, op: '<', threshold: 1 }\n    severity: info\n`)
    const ch = await openSecondConnection(s.ch)
    const now = Date.now()
    const ev = new AlertEvaluator({ ch, log: pino({ level: 'silent' }), instance: 'api-test', intervalMs: 60_000, timezone: 'UTC', lateDeliveryMinutes: 240, webhookTimeoutMs: 1000, webhookRetry: { initialMs: 10, maxMs: 10, factor: 1, maxElapsedMs: 0 }, rulesFile: file, now: () => now })
    await ev.syncRulesFile()
    const report = await ev.evaluateOnce(now)
    expect(report.transitions.map((t) => `${t.rule}:${t.kind}`)).toEqual(['quiet:firing'])
    const active = await s.get('/v1/alerts', 'analyst')
    expect(active.body.alerts).toMatchObject([{ rule_id: 'quiet', name: 'Quiet city', status: 'firing', value: 0, threshold: 1, episode: 1 }])
    const history = await s.get('/v1/alerts/history?rule=quiet', 'admin')
    expect(history.body.transitions).toMatchObject([{ rule_id: 'quiet', transition: 'firing', instance: 'api-test', value: 0 }])
    // A bad file stops with the rule, field and reason.
    writeFileSync(file, `- id: bad\n  name: Bad\n  metric: orders\n  window: { kind: last, minutes: 15 }\n  condition: { type: static, op: '!=', threshold: 1 }\n`)
    await expect(ev.syncRulesFile()).rejects.toThrow(/ALERT_RULES_FILE .*rule 1 \(bad\): condition\.op/)
    await ch.close()
  })
})

import type { FastifyPluginAsync } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { AlertRuleSchema, deleteRule, getRule, listRules, loadStates, putRule } from '../queries/index.js'
import type { ClickHouse } from '../sinks/index.js'
import { ApiError, ApiErrorCode, badRequest } from './errors.js'
import { TimeRange, resolveRange } from './reports/params.js'

/*
 * Alert rules (CRUD, admin), the alerts that are not inactive, and the history of transitions.
 * Rules live in ClickHouse, so every API and evaluator instance sees the same ones. Not cached:
 * an operator who just changed a rule must read it back.
 */

const RuleId = z.object({ id: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'a rule id is 1-64 letters, digits, ".", "_", ":" or "-"') })
const HistoryQuery = z
  .object({
    ...TimeRange.shape,
    rule: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'a rule id').optional(),
    limit: z.coerce.number().int().min(1, 'must be 1-10000').max(10_000, 'must be 1-10000').default(1000),
  })
  .transform((q, ctx) => ({ ...q, ...resolveRange(q, Date.now(), ctx, 7 * 86_400_000) }))

const RuleList = z.object({ rules: z.array(AlertRuleSchema) })
const AlertList = z.object({
  alerts: z.array(
    z.strictObject({
      rule_id: z.string(), name: z.string().optional(), severity: z.string().optional(), metric: z.string().optional(), group: z.string().nullable(), group_by: z.string().nullable(),
      status: z.string(), value: z.number().nullable(), threshold: z.number().nullable(), episode: z.number().int(), message: z.string().nullable(),
      fired_at: z.string().nullable(), pending_since: z.string().nullable(), evaluated_at: z.string(),
    }),
  ),
})
const HistoryList = z.object({
  transitions: z.array(
    z.strictObject({
      at: z.string(), rule_id: z.string(), group: z.string().nullable(), transition: z.string(), episode: z.number().int(),
      value: z.number().nullable(), threshold: z.number().nullable(), severity: z.string(), message: z.string().nullable(), instance: z.string(),
    }),
  ),
})

const notFound = (id: string) => new ApiError(ApiErrorCode.NOT_FOUND, 404, `alert rule ${id} does not exist`)

export const alertRoutes: FastifyPluginAsync = async (app) => {
  // Every statement through the API's session pool and its deadline (ReportQueries.session).
  const db = <T>(fn: (ch: ClickHouse) => Promise<T>): Promise<T> => app.reports.queries.session(fn)
  const typed = app.withTypeProvider<ZodTypeProvider>()

  typed.get('/v1/alerts/rules', { config: { access: { roles: ['admin', 'analyst'], reads: 'alert rules and alerts' } }, schema: { tags: ['alerts'], summary: 'Every alert rule', response: { 200: RuleList } } }, async () => {
    return { rules: await db((ch) => listRules(ch)) }
  })
  typed.get('/v1/alerts/rules/:id', { config: { access: { roles: ['admin', 'analyst'], reads: 'alert rules and alerts' } }, schema: { tags: ['alerts'], summary: 'One alert rule', params: RuleId, response: { 200: AlertRuleSchema } } }, async (req) => {
    const rule = await db((ch) => getRule(ch, req.params.id))
    if (!rule) throw notFound(req.params.id)
    return rule
  })
  typed.post('/v1/alerts/rules', { config: { access: { roles: ['admin'], reads: 'or change alert rules (admin only)' } }, schema: { tags: ['alerts'], summary: 'Create an alert rule (admin)', body: AlertRuleSchema, response: { 201: AlertRuleSchema } } }, async (req, reply) => {
    if (await db((ch) => getRule(ch, req.body.id))) throw new ApiError(ApiErrorCode.CONFLICT, 409, `alert rule ${req.body.id} exists: PUT /v1/alerts/rules/${req.body.id} to change it`)
    await db((ch) => putRule(ch, req.body, req.principal.name))
    return reply.status(201).send(req.body)
  })
  typed.put('/v1/alerts/rules/:id', { config: { access: { roles: ['admin'], reads: 'or change alert rules (admin only)' } }, schema: { tags: ['alerts'], summary: 'Create or replace an alert rule (admin)', params: RuleId, body: AlertRuleSchema, response: { 200: AlertRuleSchema } } }, async (req) => {
    if (req.body.id !== req.params.id) throw badRequest(`body.id: must equal the rule id in the path (${req.params.id})`)
    await db((ch) => putRule(ch, req.body, req.principal.name))
    return req.body
  })
  typed.delete('/v1/alerts/rules/:id', { config: { access: { roles: ['admin'], reads: 'or change alert rules (admin only)' } }, schema: { tags: ['alerts'], summary: 'Delete an alert rule (admin)', params: RuleId } }, async (req, reply) => {
    if (!(await db((ch) => getRule(ch, req.params.id)))) throw notFound(req.params.id)
    await db((ch) => deleteRule(ch, req.params.id, req.principal.name))
    return reply.status(204).send()
  })

  typed.get('/v1/alerts', { config: { access: { roles: ['admin', 'analyst'], reads: 'alert rules and alerts' } }, schema: { tags: ['alerts'], summary: 'Alerts that are pending, firing, without data or failing, per rule and group', response: { 200: AlertList } } }, async () => {
    const rules = new Map((await db((ch) => listRules(ch))).map((r) => [r.id, r]))
    const states = (await db((ch) => loadStates(ch, [...rules.keys()]))).filter((s) => s.status !== 'inactive')
    return {
      alerts: states.map((s) => {
        const r = rules.get(s.ruleId)
        return {
          rule_id: s.ruleId, name: r?.name, severity: r?.severity, metric: r?.metric, group: s.groupKey || null, group_by: r?.groupBy ?? null,
          status: s.status, value: s.value, threshold: s.threshold, episode: s.episode, message: s.message || null,
          fired_at: s.firedAt === null ? null : new Date(s.firedAt).toISOString(),
          pending_since: s.pendingSince === null ? null : new Date(s.pendingSince).toISOString(),
          evaluated_at: new Date(s.evaluatedAt).toISOString(),
        }
      }),
    }
  })

  typed.get('/v1/alerts/history', { config: { access: { roles: ['admin', 'analyst'], reads: 'alert rules and alerts' } }, schema: { tags: ['alerts'], summary: 'Alert transitions (who fired when, with values)', querystring: HistoryQuery, response: { 200: HistoryList } } }, async (req) => {
    const q = req.query
    const rows = await app.reports.queries.rows<{ at_ms: number; rule_id: string; group_key: string; transition: string; episode: number; value: number | null; threshold: number | null; severity: string; message: string; instance: string }>(
      `SELECT toUnixTimestamp64Milli(at) AS at_ms, rule_id, group_key, transition, episode, value, threshold, severity, message, instance
       FROM alert_history
       WHERE at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
         AND (empty({rule:String}) OR rule_id = {rule:String})
       ORDER BY at DESC, rule_id, group_key LIMIT {limit:UInt32}`,
      { from: q.from, to: q.to, rule: q.rule ?? '', limit: q.limit },
    )
    return {
      transitions: rows.map((r) => ({
        at: new Date(Number(r.at_ms)).toISOString(), rule_id: r.rule_id, group: r.group_key || null, transition: r.transition, episode: r.episode,
        value: r.value, threshold: r.threshold, severity: r.severity, message: r.message || null, instance: r.instance,
      })),
    }
  })
}

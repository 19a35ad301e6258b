import { z } from 'zod'

/*
 * An alert rule: a metric of the cubes over a window, optionally per community or leader,
 * compared with a static threshold (with a recovery threshold for hysteresis) or with a dynamic
 * baseline (the same window of the same hour of the week over the last N weeks: mean ± k·σ, or a
 * percentage deviation). It must hold `forSeconds` before it fires; a firing alert repeats every
 * `repeatSeconds` if set. One zod schema is the API's validation, the file format and the type.
 */

/** Metrics and the dimensions each can be filtered and grouped by. */
export const METRICS = {
  orders: { dims: ['community', 'leader', 'category'], help: 'paid orders (distinct)' },
  gmv_cents: { dims: ['community', 'leader', 'category'], help: 'GMV of paid orders, in cents' },
  paying_users: { dims: ['community', 'leader', 'category'], help: 'distinct paying users' },
  active_users: { dims: ['community'], help: 'distinct users with any behaviour or order' },
  late_deliveries: { dims: ['community', 'leader'], help: 'orders delivered in the window more than LATE_DELIVERY_MINUTES after payment' },
  complaint_rate: { dims: ['community', 'leader'], help: 'complaints filed in the window / paid orders in the window' },
  freshness_seconds: { dims: [], help: 'seconds the pipelines\' event-time watermark is behind the wall clock' },
  dead_letter_rate: { dims: [], help: 'dead-lettered records / records read, by arrival time, all topics' },
  expiry_at_risk_units: { dims: ['community'], help: 'units on hand that will not sell before they expire at the last 7 days\' average daily sales (FIFO), as of the window\'s end; static conditions only' },
} as const
export type Metric = keyof typeof METRICS
export type Dimension = 'community' | 'leader' | 'category'

const Id = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, '1-64 letters, digits, ".", "_", ":" or "-"')

const Window = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('last'), minutes: z.number().int().min(1).max(1440).describe('the last N closed minutes') }),
  z.object({ kind: z.literal('today').describe('today so far, local time (API_TIMEZONE)') }),
  z.object({ kind: z.literal('closed_hour').describe('the last hour the watermark closed') }),
])
export type AlertWindow = z.output<typeof Window>

const Static = z
  .object({
    type: z.literal('static'),
    op: z.enum(['>', '>=', '<', '<=']),
    threshold: z.number(),
    recovery: z.number().optional().describe('resolve only past this (hysteresis); default: the threshold'),
  })
  .refine((c) => c.recovery === undefined || (c.op.startsWith('>') ? c.recovery <= c.threshold : c.recovery >= c.threshold), {
    path: ['recovery'],
    message: 'must lie on the resolved side of the threshold (≤ threshold for > and >=, ≥ threshold for < and <=)',
  })

const Dynamic = z
  .object({
    type: z.literal('dynamic'),
    weeks: z.number().int().min(2).max(12).default(4).describe('baseline: the same window in each of the last N weeks'),
    direction: z.enum(['above', 'below', 'both']).default('above'),
    k: z.number().positive().optional().describe('fire beyond mean ± k·σ'),
    pct: z.number().positive().optional().describe('fire beyond mean ± pct % of the mean'),
    recoveryK: z.number().min(0).optional().describe('resolve within mean ± recoveryK·σ (default k)'),
    recoveryPct: z.number().min(0).optional().describe('resolve within mean ± recoveryPct % (default pct)'),
  })
  .refine((c) => c.k !== undefined || c.pct !== undefined, { path: ['k'], message: 'a dynamic condition needs k (σ band) or pct (deviation)' })
  .refine((c) => c.recoveryK === undefined || (c.k !== undefined && c.recoveryK <= c.k), { path: ['recoveryK'], message: 'must not exceed k' })
  .refine((c) => c.recoveryPct === undefined || (c.pct !== undefined && c.recoveryPct <= c.pct), { path: ['recoveryPct'], message: 'must not exceed pct' })

const Match = z.object({
  severity: z.array(z.enum(['info', 'warning', 'critical'])).optional(),
  labels: z.record(z.string(), z.string()).optional(),
})

const Notifier = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('webhook'),
    name: z.string().min(1).default('webhook'),
    url: z.url(),
    secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name').optional().describe('environment variable holding the HMAC secret (never stored in the rule)'),
    match: Match.optional(),
  }),
  z.object({ type: z.literal('log'), name: z.string().min(1).default('log'), match: Match.optional() }),
])
export type NotifierConfig = z.output<typeof Notifier>

export const AlertRuleSchema = z
  .object({
    id: Id,
    name: z.string().min(1).max(200),
    metric: z.enum(Object.keys(METRICS) as [Metric, ...Metric[]]),
    filters: z
      .object({ community: z.array(Id).max(100).optional(), leader: z.array(Id).max(100).optional(), category: z.array(Id).max(100).optional() })
      .strict()
      .default({}),
    window: Window,
    groupBy: z.enum(['community', 'leader']).nullable().default(null),
    condition: z.discriminatedUnion('type', [Static, Dynamic]),
    forSeconds: z.number().int().min(0).max(86_400).default(0),
    repeatSeconds: z.number().int().min(60).nullable().default(null),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'label names are Prometheus-style'), z.string()).default({}),
    notify: z.array(Notifier).default([{ type: 'log', name: 'log' }]),
    enabled: z.boolean().default(true),
  })
  .strict()
  .superRefine((r, ctx) => {
    const dims: readonly string[] = METRICS[r.metric].dims
    for (const d of Object.keys(r.filters)) {
      if (!dims.includes(d)) ctx.addIssue({ code: 'custom', path: ['filters', d], message: `metric ${r.metric} has no ${d} dimension (it has: ${dims.join(', ') || 'none'})` })
    }
    if (r.groupBy && !dims.includes(r.groupBy)) ctx.addIssue({ code: 'custom', path: ['groupBy'], message: `metric ${r.metric} cannot be grouped by ${r.groupBy}` })
    // Batch stock is kept as its current state, not as history: there are no previous weeks to compare with.
    if (r.metric === 'expiry_at_risk_units' && r.condition.type !== 'static') ctx.addIssue({ code: 'custom', path: ['condition', 'type'], message: 'metric expiry_at_risk_units takes a static condition (stock has no weekly history)' })
    if (r.condition.type === 'dynamic' && r.window.kind === 'today') ctx.addIssue({ code: 'custom', path: ['window'], message: 'a dynamic baseline needs a fixed-length window (last N minutes or the closed hour)' })
  })
export type AlertRule = z.output<typeof AlertRuleSchema>
export type AlertRuleInput = z.input<typeof AlertRuleSchema>

/** Zod issues as "path: message" lines, for API 400s and file errors. */
export function ruleIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join('.') || '(rule)'}: ${i.message}`)
}

/** A rule group's alerting state, as stored (alert_states) and stepped by the evaluator's state machine. */
export type AlertStatus = 'inactive' | 'pending' | 'firing' | 'nodata' | 'error'

export interface AlertState {
  readonly ruleId: string
  readonly groupKey: string
  readonly status: AlertStatus
  /** An episode is open (fired, not yet resolved). */
  readonly firing: boolean
  readonly episode: number
  readonly pendingSince: number | null
  readonly firedAt: number | null
  readonly lastNotifiedAt: number | null
  readonly repeats: number
  readonly value: number | null
  readonly threshold: number | null
  readonly message: string
  readonly evaluatedAt: number
}

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import type { Config } from '../../schemas/index.js'
import { deliverWebhook, insertRows, type AlertmanagerMessage, type ClickHouse, type RetryPolicy } from '../../sinks/index.js'
import { claimOnce } from '../claims.js'
import { putOutbox, staleOutbox, type OutboxEntry } from './outbox.js'
import { COUNT_METRICS, METRIC_PIPELINES, metricValues, windowRange } from './metrics.js'
import { applyRules, listRules, loadStates, PIPELINE_WATERMARKS, readRuleFile, saveStates, type AlertRule, type AlertState, type NotifierConfig } from '../../queries/index.js'
import { sleep } from '../../schemas/time.js'
import { dynamicCondition, initialState, staticCondition, step, type Evaluation, type Transition } from './state.js'

/*
 * The alert evaluator: a scheduled pipeline whose source is the cubes and whose sinks are the
 * state tables and the notifiers. Every `intervalMs` (on tick boundaries shared by all instances)
 * it evaluates each enabled rule at the reference time — the pipelines' event-time watermark when
 * they publish one (a window is evaluated once the watermark has closed it), else the tick —
 * steps each group's state machine, records transitions, and sends notifications.
 *
 * Several evaluators may run at once (for availability). They compute the same transitions with
 * the same idempotency keys; for each notification, every instance inserts a claim with the key
 * as ClickHouse deduplication token, ClickHouse keeps the first, and the instance named by the
 * surviving row sends. History rows are deduplicated the same way.
 */

export interface EvaluatorOptions {
  readonly ch: ClickHouse
  readonly log: Logger
  /** Names this instance in claims and history (default: host and pid). */
  readonly instance: string
  readonly intervalMs: number
  readonly timezone: string
  readonly lateDeliveryMinutes: number
  readonly webhookTimeoutMs: number
  readonly webhookRetry: RetryPolicy
  /** GitOps: rules in this YAML/JSON file are applied at start and whenever it changes. */
  readonly rulesFile?: string | null
  readonly externalUrl?: string
  readonly env?: NodeJS.ProcessEnv
  readonly now?: () => number
  /** A pending notification whose sender wrote nothing for this long is taken over (default 60 s). */
  readonly outboxLeaseMs?: number
}

export interface EvaluationReport {
  readonly tick: number
  readonly rules: number
  readonly transitions: { rule: string; group: string; kind: Transition['kind']; key: string }[]
  sent: number
}

const fingerprint = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16)

export class AlertEvaluator {
  private readonly now: () => number
  private readonly deliveries = new Set<Promise<void>>()
  /** Outbox entries this instance is sending (event key and receiver). */
  private readonly sending = new Set<string>()
  /** Aborted by crash(): nothing more is sent, retried or written. */
  private readonly alive = new AbortController()
  private rulesFileDigest = ''
  /** One statement at a time on the connection (an embedded session runs one at a time). */
  private lock: Promise<unknown> = Promise.resolve()

  constructor(private readonly o: EvaluatorOptions) {
    this.now = o.now ?? Date.now
  }

  /** Applies the rule file if its content changed since the last look. */
  async syncRulesFile(): Promise<void> {
    if (!this.o.rulesFile) return
    await this.exclusive(() => this.applyRulesFile(this.o.rulesFile as string))
  }

  private async applyRulesFile(file: string): Promise<void> {
    // By content, not mtime: two edits within the file system's timestamp resolution still count.
    const digest = createHash('sha256').update(readFileSync(file)).digest('hex')
    if (digest === this.rulesFileDigest) return
    const changed = await applyRules(this.o.ch, readRuleFile(file), `file:${file}`)
    this.rulesFileDigest = digest
    this.o.log.info({ file, changed }, 'alert rules applied from file')
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn)
    this.lock = run.catch(() => undefined)
    return run
  }

  /** Evaluates every enabled rule once, at the tick that contains `at`. */
  evaluateOnce(at = this.now()): Promise<EvaluationReport> {
    return this.exclusive(() => this.evaluate(at))
  }

  private async evaluate(at: number): Promise<EvaluationReport> {
    const tick = Math.floor(at / this.o.intervalMs) * this.o.intervalMs
    const rules = (await listRules(this.o.ch)).filter((r) => r.enabled)
    const states = await loadStates(this.o.ch, rules.map((r) => r.id))
    const watermarks = await this.watermarks()
    const report: EvaluationReport = { tick, rules: rules.length, transitions: [], sent: 0 }
    for (const rule of rules) {
      const prev = new Map(states.filter((s) => s.ruleId === rule.id).map((s) => [s.groupKey, s]))
      let evals: Map<string, Evaluation>
      // As of the tick, or of the watermark of the groups writing the rule's cubes if behind it.
      const watermark = watermarkFor(watermarks, METRIC_PIPELINES[rule.metric])
      const ref = watermark === null ? tick : Math.min(tick, watermark)
      try {
        // Writers that have published but completed no window yet (a partition with nothing read
        // publishes 0, holding its group back) leave nothing to evaluate: no data, not an error.
        evals = watermark !== null && watermark <= 0 ? blank(rule, prev) : await this.evaluateRule(rule, ref, new Set(prev.keys()))
      } catch (err) {
        // A failing query neither fires nor resolves: every group (or the rule's only group) goes to error.
        this.o.log.error({ err, rule: rule.id }, 'alert rule query failed')
        evals = blank(rule, prev, (err as Error).message)
      }
      const next: AlertState[] = []
      for (const [group, ev] of evals) {
        const { next: s, transitions } = step(prev.get(group) ?? initialState(rule.id, group, tick), ev, rule, tick)
        next.push(s)
        for (const t of transitions) {
          report.transitions.push({ rule: rule.id, group, kind: t.kind, key: t.key })
          await this.record(rule, s, t)
          if (t.notify && (await this.claim(t.key))) {
            report.sent++
            await this.notify(rule, s, t)
          }
        }
      }
      if (next.length) await saveStates(this.o.ch, next, tick)
    }
    await this.takeOverStale()
    return report
  }

  /**
   * Pending notifications whose sender has written nothing for the lease (it was killed, say):
   * this instance claims each such version once across instances and sends it.
   */
  private async takeOverStale(): Promise<void> {
    const now = Date.now()
    for (const e of await staleOutbox(this.o.ch, now - (this.o.outboxLeaseMs ?? 60_000))) {
      if (this.sending.has(`${e.eventKey}\u0000${e.receiver}`)) continue
      if (!(await claimOnce(this.o.ch, `outbox|${e.eventKey}|${e.receiver}|${e.version}`, this.o.instance, now))) continue
      this.o.log.warn({ key: e.eventKey, receiver: e.receiver, owner: e.owner, attempts: e.attempts }, 'taking over a notification its sender left pending')
      const mine = { ...e, owner: this.o.instance, version: Date.now() }
      await putOutbox(this.o.ch, [mine])
      this.send(mine)
    }
  }

  /** For tests of abrupt failure (a kill -9): nothing more is sent, retried or written by this instance. */
  crash(): void {
    this.alive.abort()
  }

  /** Runs until the signal aborts, evaluating on every tick; waits for deliveries in flight at the end. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.syncRulesFile()
        const r = await this.evaluateOnce()
        if (r.transitions.length) this.o.log.info({ tick: new Date(r.tick).toISOString(), transitions: r.transitions.length, sent: r.sent }, 'alerts evaluated')
      } catch (err) {
        this.o.log.error({ err }, 'alert evaluation failed; retrying at the next tick')
      }
      const wait = this.o.intervalMs - (this.now() % this.o.intervalMs)
      await sleep(wait, signal)
    }
    await this.drain()
  }

  /** Waits for the notifications in flight (with their retries). */
  async drain(): Promise<void> {
    while (this.deliveries.size) await Promise.all([...this.deliveries])
  }

  private async evaluateRule(rule: AlertRule, ref: number, known: ReadonlySet<string>): Promise<Map<string, Evaluation>> {
    const { from, to } = windowRange(rule.window, ref, this.o.timezone)
    const opts = { lateDeliveryMinutes: this.o.lateDeliveryMinutes, now: this.now() }
    const values = await metricValues(this.o.ch, rule, from, to, opts)
    const counts = COUNT_METRICS.has(rule.metric)
    // Groups: those with data now, and those with an open state (a firing group that went silent
    // must still be able to resolve — to 0 for counts, or to nodata).
    const groups = new Set([...values.keys(), ...known])
    if (!rule.groupBy) groups.add('')
    const value = (m: Map<string, number>, g: string) => m.get(g) ?? (counts ? 0 : null)
    const out = new Map<string, Evaluation>()
    if (rule.condition.type === 'static') {
      const c = rule.condition
      for (const g of groups) {
        const v = value(values, g)
        out.set(g, v === null ? { value: null, breach: false, recovered: false, threshold: c.threshold } : { value: v, threshold: c.threshold, ...staticCondition(c.op, c.threshold, c.recovery, v) })
      }
      return out
    }
    const c = rule.condition
    const weeks = await Promise.all(Array.from({ length: c.weeks }, (_, i) => metricValues(this.o.ch, rule, from - (i + 1) * 7 * 86_400_000, to - (i + 1) * 7 * 86_400_000, opts)))
    for (const g of groups) {
      const v = value(values, g)
      const baseline = weeks.map((w) => value(w, g)).filter((x): x is number => x !== null)
      if (v === null || baseline.length < 2) {
        // No value, or too little history for a baseline: nodata (neither fires nor resolves).
        out.set(g, { value: null, breach: false, recovered: false, threshold: null })
        continue
      }
      const d = dynamicCondition(c, baseline, v)
      out.set(g, { value: v, breach: d.breach, recovered: d.recovered, threshold: d.threshold })
    }
    return out
  }

  /**
   * Each pipeline's watermark (its current writer's), and under key '' the least of them: the
   * minimum over every current writer's partitions (what MIN_WATERMARK reads), without a second query.
   */
  private async watermarks(): Promise<Map<string, number>> {
    const rs = await this.o.ch.client.query({
      query: `SELECT pipeline, watermark FROM (${PIPELINE_WATERMARKS}) WHERE partitions > 0`,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    })
    const out = new Map((await rs.json<{ pipeline: string; watermark: number | null }>()).filter((r) => r.watermark !== null).map((r) => [r.pipeline, Number(r.watermark)]))
    if (out.size > 0) out.set('', Math.min(...out.values()))
    return out
  }

  private async record(rule: AlertRule, s: AlertState, t: Transition): Promise<void> {
    await insertRows(this.o.ch, 'alert_history', [{
      at: s.evaluatedAt, rule_id: rule.id, group_key: s.groupKey, transition: t.kind, episode: t.episode, value: s.value, threshold: s.threshold,
      severity: rule.severity, message: s.message, event_key: t.key, instance: this.o.instance,
    }], { deduplicationToken: `history|${t.key}` })
  }

  /** True when this instance is the one that sends the notification with this key. */
  private claim(key: string): Promise<boolean> {
    return claimOnce(this.o.ch, key, this.o.instance, this.now())
  }

  /** Puts the transition's notifications in the outbox (one per matching notifier), then sends them. */
  private async notify(rule: AlertRule, s: AlertState, t: Transition): Promise<void> {
    const labels: Record<string, string> = { alertname: rule.name, rule_id: rule.id, severity: rule.severity, metric: rule.metric, ...rule.labels }
    if (rule.groupBy) labels[rule.groupBy] = s.groupKey
    const entries: OutboxEntry[] = rule.notify
      .filter((n) => matches(n, rule.severity, labels))
      .map((n) => ({ eventKey: t.key, receiver: n.name, ruleId: rule.id, notifier: n, message: this.message(n, rule, s, t, labels), status: 'pending', attempts: 0, owner: this.o.instance, version: Date.now() }))
    // Called inside evaluate(), which holds the connection: written directly.
    await putOutbox(this.o.ch, entries)
    for (const e of entries) this.send(e)
  }

  private message(n: NotifierConfig, rule: AlertRule, s: AlertState, t: Transition, labels: Record<string, string>): AlertmanagerMessage {
    const status = t.kind === 'resolved' ? 'resolved' : 'firing'
    const annotations = {
      summary: `${rule.name}: ${rule.metric} = ${fmt(s.value)} (threshold ${fmt(s.threshold)})`,
      description: `${rule.name}${s.groupKey ? ` for ${rule.groupBy} ${s.groupKey}` : ''}: ${rule.metric} over ${windowText(rule)} is ${fmt(s.value)}; threshold ${fmt(s.threshold)}. Transition: ${t.kind} (episode ${t.episode}).`,
      value: fmt(s.value),
      threshold: fmt(s.threshold),
    }
    const startsAt = new Date(s.firedAt ?? s.evaluatedAt).toISOString()
    return {
      version: '4',
      groupKey: `{}:{rule_id="${rule.id}"${rule.groupBy ? `,${rule.groupBy}="${s.groupKey}"` : ''}}`,
      truncatedAlerts: 0,
      status,
      receiver: n.name,
      groupLabels: { rule_id: rule.id },
      commonLabels: labels,
      commonAnnotations: annotations,
      externalURL: this.o.externalUrl ?? '',
      alerts: [{
        status, labels, annotations, startsAt,
        endsAt: status === 'resolved' ? new Date(s.evaluatedAt).toISOString() : '0001-01-01T00:00:00Z',
        generatorURL: `${this.o.externalUrl ?? ''}/v1/alerts/rules/${encodeURIComponent(rule.id)}`,
        fingerprint: fingerprint(`${rule.id}|${s.groupKey}`),
      }],
    }
  }

  /** Sends an outbox entry in the background (drain() waits for it). */
  private send(e: OutboxEntry): void {
    const id = `${e.eventKey}\u0000${e.receiver}`
    this.sending.add(id)
    const run = this.deliver(e)
      .catch((err: unknown) => this.o.log.error({ err, key: e.eventKey, receiver: e.receiver }, 'notification failed; left pending for another attempt'))
      .finally(() => {
        this.sending.delete(id)
        this.deliveries.delete(run)
      })
    this.deliveries.add(run)
  }

  /** A new version of the entry, unless this instance has crashed. */
  private mark(e: OutboxEntry, change: Partial<OutboxEntry>): Promise<void> {
    if (this.alive.signal.aborted) return Promise.resolve()
    return this.exclusive(() => putOutbox(this.o.ch, [{ ...e, ...change, version: Date.now() }]))
  }

  private async deliver(e: OutboxEntry): Promise<void> {
    const n = e.notifier
    const { message } = e
    if (n.type === 'log') {
      const alert = message.alerts[0]
      this.o.log.warn({ alert: { key: e.eventKey, status: message.status, labels: alert?.labels, annotations: alert?.annotations } }, `alert ${message.status}: ${message.commonAnnotations.summary}`)
      return this.mark(e, { status: 'sent', attempts: e.attempts + 1 })
    }
    const secret = n.secretEnv ? (this.o.env ?? process.env)[n.secretEnv] : undefined
    let attempts = e.attempts
    const result = await deliverWebhook({
      url: n.url, body: message, key: e.eventKey, secret, timeoutMs: this.o.webhookTimeoutMs, policy: this.o.webhookRetry, signal: this.alive.signal,
      onRetry: async (err, attempt, delayMs) => {
        this.o.log.warn({ err: (err as Error).message, attempt, delayMs, receiver: n.name, key: e.eventKey }, 'alert webhook failed; retrying')
        attempts = e.attempts + attempt
        await this.mark(e, { attempts }) // the heartbeat: this sender is alive
      },
    })
    if (this.alive.signal.aborted) return
    if (result.error === undefined) return this.mark(e, { status: 'sent', attempts: e.attempts + result.attempts })
    this.o.log.error({ receiver: n.name, key: e.eventKey, attempts: result.attempts, error: result.error }, 'alert notification undeliverable; recorded in alert_dead_letters')
    await this.exclusive(() => insertRows(this.o.ch, 'alert_dead_letters', [{
      at: this.now(), event_key: e.eventKey, rule_id: e.ruleId, receiver: n.name, attempts: result.attempts, error: result.error, payload: JSON.stringify(message),
    }], { deduplicationToken: `dead|${n.name}|${e.eventKey}` })).catch((err: unknown) => this.o.log.error({ err }, 'cannot record the dead letter'))
    await this.mark(e, { status: 'dead', attempts: e.attempts + result.attempts })
  }
}

function matches(n: NotifierConfig, severity: string, labels: Record<string, string>): boolean {
  if (!n.match) return true
  if (n.match.severity && !n.match.severity.includes(severity as 'info')) return false
  for (const [k, v] of Object.entries(n.match.labels ?? {})) if (labels[k] !== v) return false
  return true
}

const fmt = (v: number | null) => (v === null ? 'n/a' : Number.isInteger(v) ? String(v) : v.toFixed(3))
const windowText = (r: AlertRule) => (r.window.kind === 'last' ? `the last ${r.window.minutes} min` : r.window.kind === 'today' ? 'today' : 'the last closed hour')

/** An evaluator from the validated configuration. */
export function evaluatorFromConfig(config: Config, ch: ClickHouse, log: Logger, now?: () => number): AlertEvaluator {
  return new AlertEvaluator({
    ch,
    log: log.child({ module: 'alerts' }),
    instance: config.alerts.instance ?? `${hostname()}-${process.pid}`,
    intervalMs: config.alerts.intervalMs,
    timezone: config.api.timezone,
    lateDeliveryMinutes: config.api.lateDeliveryMinutes,
    webhookTimeoutMs: config.alerts.webhookTimeoutMs,
    webhookRetry: { initialMs: 500, maxMs: 30_000, factor: 2, maxElapsedMs: config.alerts.webhookRetryMs },
    outboxLeaseMs: config.alerts.outboxLeaseMs,
    rulesFile: config.alerts.rulesFile,
    externalUrl: config.alerts.externalUrl ?? undefined,
    now,
  })
}

/** Up to when the windows of these pipelines are complete: the least of their watermarks (none known, or no pipelines: every writer's). Null when nothing was published. */
export function watermarkFor(watermarks: ReadonlyMap<string, number>, pipelines: readonly string[]): number | null {
  const known = pipelines.map((p) => watermarks.get(p)).filter((w): w is number => w !== undefined)
  if (known.length > 0) return Math.min(...known)
  return watermarks.get('') ?? null
}

/**
 * Evaluations without a value for every group the rule has state for (none yet: its only group,
 * or — for a grouped rule without data — no group): no data, or an error when `error` is given
 * (a failed query puts even a grouped rule's '' group in error, so the failure shows).
 */
function blank(rule: AlertRule, prev: ReadonlyMap<string, AlertState>, error?: string): Map<string, Evaluation> {
  const groups = prev.size ? [...prev.keys()] : rule.groupBy && error === undefined ? [] : ['']
  return new Map(groups.map((g) => [g, { value: null, breach: false, recovered: false, threshold: null, ...(error === undefined ? {} : { error }) }]))
}

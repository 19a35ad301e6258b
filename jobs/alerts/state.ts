import type { AlertRule, AlertState } from '../../queries/index.js'

/*
 * The alert state machine, pure: (previous state, this evaluation) → (next state, transitions).
 *
 *   inactive ──breach──▶ pending ──held forSeconds──▶ firing ──recovered──▶ inactive (resolved)
 *       ▲                   │ no breach                  │ still firing: repeat every repeatSeconds
 *       └───────────────────┘
 *
 * `nodata` (no value: a ratio without a denominator, no watermark) and `error` (the query failed)
 * are shown as the status but neither fire nor resolve: an open episode stays open, a pending
 * condition starts over. Hysteresis: a firing alert resolves only when the value is past the
 * recovery threshold, so a value oscillating between the two thresholds changes nothing.
 *
 * Notifying transitions carry an idempotency key per rule, group and episode (the n-th time this
 * group fired), so evaluators that see the same transition produce the same key.
 */

/** One evaluation of a rule for a group. */
export interface Evaluation {
  readonly value: number | null
  /** The firing condition holds. */
  readonly breach: boolean
  /** Past the recovery threshold (the resolve condition holds). */
  readonly recovered: boolean
  /** The threshold shown with the alert (static threshold, or the dynamic band's edge). */
  readonly threshold: number | null
  readonly error?: string
}

export type TransitionKind = 'pending' | 'firing' | 'repeat' | 'resolved' | 'inactive' | 'nodata' | 'error'

export interface Transition {
  readonly kind: TransitionKind
  /** firing, repeat and resolved are sent to the rule's notifiers. */
  readonly notify: boolean
  /** Idempotency key: the same transition seen by two evaluators has the same key. */
  readonly key: string
  readonly episode: number
}

export function initialState(ruleId: string, groupKey: string, now: number): AlertState {
  return { ruleId, groupKey, status: 'inactive', firing: false, episode: 0, pendingSince: null, firedAt: null, lastNotifiedAt: null, repeats: 0, value: null, threshold: null, message: '', evaluatedAt: now }
}

/** The next state of a rule's group after an evaluation at `now` (the evaluation tick). */
export function step(prev: AlertState, ev: Evaluation, rule: Pick<AlertRule, 'forSeconds' | 'repeatSeconds'>, now: number): { next: AlertState; transitions: Transition[] } {
  const base = `${prev.ruleId}|${prev.groupKey}`
  const transitions: Transition[] = []
  const t = (kind: TransitionKind, notify: boolean, episode: number, suffix = '') =>
    transitions.push({ kind, notify, episode, key: notify ? `${base}|${kind}|${episode}${suffix}` : `${base}|${kind}|${now}` })
  let s: { -readonly [K in keyof AlertState]: AlertState[K] } = { ...prev, value: ev.value, threshold: ev.threshold, evaluatedAt: now, message: '' }

  if (ev.error !== undefined) {
    s.status = 'error'
    s.message = ev.error
    s.pendingSince = null
    if (prev.status !== 'error') t('error', false, s.episode)
    return { next: s, transitions }
  }
  if (ev.value === null) {
    s.status = 'nodata'
    s.pendingSince = null
    if (prev.status !== 'nodata') t('nodata', false, s.episode)
    return { next: s, transitions }
  }
  if (s.firing) {
    if (ev.recovered) {
      s = { ...s, firing: false, pendingSince: null, repeats: 0 }
      t('resolved', true, s.episode)
    } else if (rule.repeatSeconds !== null && s.lastNotifiedAt !== null && now - s.lastNotifiedAt >= rule.repeatSeconds * 1000) {
      s.repeats += 1
      s.lastNotifiedAt = now
      t('repeat', true, s.episode, `|${s.repeats}`)
    }
  } else if (ev.breach) {
    const since = s.pendingSince ?? now
    if (now - since >= rule.forSeconds * 1000) {
      s = { ...s, firing: true, episode: s.episode + 1, firedAt: now, lastNotifiedAt: now, repeats: 0, pendingSince: null }
      t('firing', true, s.episode)
    } else {
      if (s.pendingSince === null) t('pending', false, s.episode)
      s.pendingSince = since
    }
  } else if (s.pendingSince !== null) {
    s.pendingSince = null
    t('inactive', false, s.episode)
  }
  s.status = s.firing ? 'firing' : s.pendingSince !== null ? 'pending' : 'inactive'
  return { next: s, transitions }
}

/** Static condition: breach and recovery (hysteresis through the recovery threshold). */
export function staticCondition(op: '>' | '>=' | '<' | '<=', threshold: number, recovery: number | undefined, v: number): { breach: boolean; recovered: boolean } {
  const r = recovery ?? threshold
  switch (op) {
    case '>':
      return { breach: v > threshold, recovered: v < r }
    case '>=':
      return { breach: v >= threshold, recovered: v < r }
    case '<':
      return { breach: v < threshold, recovered: v > r }
    case '<=':
      return { breach: v <= threshold, recovered: v > r }
  }
}

/**
 * Dynamic condition from a baseline (the same window in each of the last weeks): outside
 * mean ± k·σ and/or ± pct % of the mean (both, when both are given) is a breach; within the
 * recovery band(s) is recovered. σ has a floor of √max(mean, 1) — the Poisson noise of a count —
 * so a flat history does not make every small wobble an alert.
 */
export function dynamicCondition(
  c: { direction: 'above' | 'below' | 'both'; k?: number; pct?: number; recoveryK?: number; recoveryPct?: number },
  baseline: readonly number[],
  v: number,
): { breach: boolean; recovered: boolean; threshold: number; mean: number; sigma: number } {
  const n = baseline.length
  const mean = n ? baseline.reduce((a, b) => a + b, 0) / n : 0
  const sd = n ? Math.sqrt(baseline.reduce((a, b) => a + (b - mean) ** 2, 0) / n) : 0
  const sigma = Math.max(sd, Math.sqrt(Math.max(mean, 1)))
  const width = (k?: number, pct?: number) => Math.max(k !== undefined ? k * sigma : 0, pct !== undefined ? (pct / 100) * Math.abs(mean) : 0)
  const fireWidth = width(c.k, c.pct)
  const recoverWidth = width(c.recoveryK ?? c.k, c.recoveryPct ?? c.pct)
  const up = v - mean
  const beyond = (w: number) => (c.direction === 'above' ? up > w : c.direction === 'below' ? -up > w : Math.abs(up) > w)
  const within = (w: number) => (c.direction === 'above' ? up < w : c.direction === 'below' ? -up < w : Math.abs(up) < w)
  return { breach: beyond(fireWidth), recovered: within(recoverWidth), threshold: c.direction === 'below' ? mean - fireWidth : mean + fireWidth, mean, sigma }
}

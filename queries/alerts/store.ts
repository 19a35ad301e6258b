import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { ConfigError, ConfigErrorCode } from '../../schemas/index.js'
import { insertRows, queryRows, type ClickHouse } from '../../sinks/index.js'
import { deleteDefinition, listDefinitions, putDefinition } from '../definitions.js'
import { AlertRuleSchema, ruleIssues, type AlertRule, type AlertState, type AlertStatus } from './rule.js'

/*
 * Rules, states and history in ClickHouse, shared by every API and evaluator instance. Rules are
 * versioned rows (the latest wins; a delete is a version with deleted = 1).
 */

const RULES = { table: 'alert_rules', idColumn: 'rule_id' } as const

/** Every rule (latest version, not deleted). */
export async function listRules(ch: ClickHouse): Promise<AlertRule[]> {
  // Stored definitions were validated on the way in; a definition a newer release no longer
  // accepts is skipped rather than stopping every other rule.
  return (await listDefinitions(ch, RULES)).flatMap((d) => {
    const parsed = AlertRuleSchema.safeParse(d)
    return parsed.success ? [parsed.data] : []
  })
}

export async function getRule(ch: ClickHouse, id: string): Promise<AlertRule | null> {
  return (await listRules(ch)).find((r) => r.id === id) ?? null
}

export async function putRule(ch: ClickHouse, rule: AlertRule, by: string): Promise<void> {
  await putDefinition(ch, RULES, rule.id, rule, by)
}

export async function deleteRule(ch: ClickHouse, id: string, by: string): Promise<void> {
  await deleteDefinition(ch, RULES, id, by)
}

const RuleFile = z.union([z.array(z.unknown()), z.object({ rules: z.array(z.unknown()) }).transform((f) => f.rules)])

/** Reads a YAML or JSON rule file (a list, or `{ rules: [...] }`); a bad rule stops with its index, field and reason. */
export function readRuleFile(path: string): AlertRule[] {
  let doc: unknown
  try {
    const text = readFileSync(path, 'utf8')
    doc = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    throw new ConfigError(ConfigErrorCode.INVALID, [`ALERT_RULES_FILE ${path} cannot be read: ${(err as Error).message}`])
  }
  const list = RuleFile.safeParse(doc)
  if (!list.success) throw new ConfigError(ConfigErrorCode.INVALID, [`ALERT_RULES_FILE ${path}: expected a list of rules or { rules: [...] }`])
  const problems: string[] = []
  const rules: AlertRule[] = []
  list.data.forEach((raw, i) => {
    const r = AlertRuleSchema.safeParse(raw)
    if (r.success) rules.push(r.data)
    else problems.push(...ruleIssues(r.error).map((m) => `ALERT_RULES_FILE ${path}, rule ${i + 1}${typeof (raw as { id?: unknown })?.id === 'string' ? ` (${(raw as { id: string }).id})` : ''}: ${m}`))
  })
  const ids = rules.map((r) => r.id)
  for (const id of new Set(ids)) if (ids.filter((x) => x === id).length > 1) problems.push(`ALERT_RULES_FILE ${path}: rule id ${id} appears twice`)
  if (problems.length) throw new ConfigError(ConfigErrorCode.INVALID, problems)
  return rules
}

/** Upserts the file's rules whose definition differs from the stored one (GitOps: the file wins for its ids). */
export async function applyRules(ch: ClickHouse, rules: readonly AlertRule[], by: string): Promise<number> {
  const stored = new Map((await listRules(ch)).map((r) => [r.id, JSON.stringify(r)]))
  let changed = 0
  for (const r of rules) {
    if (stored.get(r.id) === JSON.stringify(r)) continue
    await putRule(ch, r, by)
    changed++
  }
  return changed
}

interface StateRow {
  rule_id: string
  group_key: string
  status: AlertStatus
  firing: number
  episode: number
  pending_ms: number | null
  fired_ms: number | null
  notified_ms: number | null
  repeats: number
  value: number | null
  threshold: number | null
  message: string
  evaluated_ms: number
}

/** The latest state of every group of the given rules (all rules when `ruleIds` is null). */
export async function loadStates(ch: ClickHouse, ruleIds: readonly string[] | null): Promise<AlertState[]> {
  const rows = await queryRows<StateRow>(ch, `
    SELECT rule_id, group_key, argMax(status, version) AS status, argMax(firing, version) AS firing, argMax(episode, version) AS episode,
           toUnixTimestamp64Milli(argMax(pending_since, version)) AS pending_ms, toUnixTimestamp64Milli(argMax(fired_at, version)) AS fired_ms,
           toUnixTimestamp64Milli(argMax(last_notified_at, version)) AS notified_ms, argMax(repeats, version) AS repeats,
           argMax(value, version) AS value, argMax(threshold, version) AS threshold, argMax(message, version) AS message,
           toUnixTimestamp64Milli(argMax(evaluated_at, version)) AS evaluated_ms
    FROM alert_state WHERE {all:UInt8} = 1 OR has({ids:Array(String)}, rule_id)
    GROUP BY rule_id, group_key ORDER BY rule_id, group_key`, { all: ruleIds === null ? 1 : 0, ids: ruleIds ?? [] })
  return rows.map((r) => ({
    ruleId: r.rule_id, groupKey: r.group_key, status: r.status, firing: Boolean(r.firing), episode: Number(r.episode),
    pendingSince: r.pending_ms === null ? null : Number(r.pending_ms), firedAt: r.fired_ms === null ? null : Number(r.fired_ms),
    lastNotifiedAt: r.notified_ms === null ? null : Number(r.notified_ms), repeats: Number(r.repeats),
    value: r.value === null ? null : Number(r.value), threshold: r.threshold === null ? null : Number(r.threshold), message: r.message, evaluatedAt: Number(r.evaluated_ms),
  }))
}

export async function saveStates(ch: ClickHouse, states: readonly AlertState[], version: number): Promise<void> {
  await insertRows(ch, 'alert_state', states.map((s) => ({
    rule_id: s.ruleId, group_key: s.groupKey, status: s.status, firing: s.firing ? 1 : 0, episode: s.episode,
    pending_since: s.pendingSince, fired_at: s.firedAt, last_notified_at: s.lastNotifiedAt, repeats: s.repeats,
    value: s.value, threshold: s.threshold, message: s.message, evaluated_at: s.evaluatedAt, version,
  })))
}

import { insertRows, queryRows, type AlertmanagerMessage, type ClickHouse } from '../../sinks/index.js'
import type { NotifierConfig } from '../../queries/index.js'

/** One notification of one transition to one notifier, as the outbox holds it (migration 0011). */
export interface OutboxEntry {
  readonly eventKey: string
  readonly receiver: string
  readonly ruleId: string
  readonly notifier: NotifierConfig
  readonly message: AlertmanagerMessage
  readonly status: 'pending' | 'sent' | 'dead'
  readonly attempts: number
  readonly owner: string
  /** Wall-clock ms of this version: the sender's heartbeat. */
  readonly version: number
}

/** Writes new versions of outbox entries (the newest version of an entry wins). */
export async function putOutbox(ch: ClickHouse, entries: readonly OutboxEntry[]): Promise<void> {
  if (entries.length === 0) return
  await insertRows(ch, 'alert_outbox', entries.map((e) => ({
    event_key: e.eventKey, receiver: e.receiver, rule_id: e.ruleId, notifier: JSON.stringify(e.notifier), message: JSON.stringify(e.message),
    status: e.status, attempts: e.attempts, owner: e.owner, version: e.version,
  })))
}

/** Pending entries whose newest version is older than `before` (wall-clock ms): their sender is gone. */
export async function staleOutbox(ch: ClickHouse, before: number): Promise<OutboxEntry[]> {
  // (The time is aliased version_ms: an alias named version would shadow the column in WHERE.)
  const rows = await queryRows<{ event_key: string; receiver: string; rule_id: string; notifier: string; message: string; status: string; attempts: number; owner: string; version_ms: number }>(
    ch,
    `SELECT event_key, receiver, rule_id, notifier, message, status, attempts, owner, toUnixTimestamp64Milli(version) AS version_ms
     FROM alert_outbox FINAL WHERE status = 'pending' AND version < fromUnixTimestamp64Milli({before:Int64}, 'UTC') ORDER BY version`,
    { before },
  )
  return rows.map((r) => ({
    eventKey: r.event_key, receiver: r.receiver, ruleId: r.rule_id, notifier: JSON.parse(r.notifier) as NotifierConfig, message: JSON.parse(r.message) as AlertmanagerMessage,
    status: 'pending', attempts: Number(r.attempts), owner: r.owner, version: Number(r.version_ms),
  }))
}

import { insertRows, type ClickHouse } from '../sinks/index.js'

/**
 * Claims a piece of work once across every instance of a job: each instance inserts a claim with
 * the work's key as its deduplication token, ClickHouse keeps the first and drops the rest, and
 * reading the key back names exactly one instance. Used for alert notifications (one per
 * transition) and for the daily restock run (one per day and lease slot). The claims live in
 * `alert_claims` (migration 0004), whatever the job.
 */
export async function claimOnce(ch: ClickHouse, key: string, instance: string, now: number): Promise<boolean> {
  await insertRows(ch, 'alert_claims', [{ event_key: key, instance, claimed_at: now }], { deduplicationToken: `claim|${key}` })
  const rs = await ch.client.query({ query: 'SELECT instance FROM alert_claims WHERE event_key = {k:String} ORDER BY claimed_at, instance LIMIT 1', query_params: { k: key }, format: 'JSONEachRow' })
  const [winner] = await rs.json<{ instance: string }>()
  return winner?.instance === instance
}

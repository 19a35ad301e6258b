import { queryRows, type ClickHouse } from '../../sinks/index.js'
import { ACTIVITY_CUBE, assessExpiry, bound, COMPLAINTS_CUBE, cubeTable, GMV_CUBE, grainFor, measureSql, MIN_WATERMARK, RANGE, UNSCOPED, type AlertRule, type AlertWindow, type Metric } from '../../queries/index.js'
import { localMidnight } from '../../schemas/index.js'

/*
 * An alert rule's metric over a window, per group, read from the cubes with parameterized SQL.
 * Counts are 0 for a group without rows; ratios and freshness are null without data (no data is
 * not a value: the rule goes to nodata instead of resolving on a made-up zero).
 */

const MINUTE = 60_000
const HOUR = 3_600_000

/**
 * The pipelines whose cubes a metric reads: a rule's windows are complete up to the watermark of
 * the groups writing them now (PIPELINE_WATERMARKS). None: the metric is about every pipeline (the
 * data quality, the freshness), so the minimum over every current writer counts.
 */
export const METRIC_PIPELINES: Readonly<Record<Metric, readonly string[]>> = {
  orders: ['gmv'],
  gmv_cents: ['gmv'],
  paying_users: ['gmv'],
  active_users: ['activity'],
  late_deliveries: ['lifecycle'],
  complaint_rate: ['lifecycle', 'gmv'],
  dead_letter_rate: [],
  expiry_at_risk_units: ['inventory'],
  freshness_seconds: [],
}

/** Metrics where "no rows" means 0 (counts and sums). */
export const COUNT_METRICS: ReadonlySet<Metric> = new Set(['orders', 'gmv_cents', 'paying_users', 'active_users', 'late_deliveries', 'expiry_at_risk_units'])

/** The window [from, to) a rule watches at reference time `ref` (closed minutes and hours only). */
export function windowRange(w: AlertWindow, ref: number, tz: string): { from: number; to: number } {
  switch (w.kind) {
    case 'last': {
      const to = Math.floor(ref / MINUTE) * MINUTE
      return { from: to - w.minutes * MINUTE, to }
    }
    case 'closed_hour': {
      const to = Math.floor(ref / HOUR) * HOUR
      return { from: to - HOUR, to }
    }
    case 'today': {
      return { from: localMidnight(ref, tz), to: Math.floor(ref / MINUTE) * MINUTE }
    }
  }
}

const COLUMN = { community: 'community_id', leader: 'leader_id', category: 'category_id' } as const

function where(rule: AlertRule): string {
  const f: string[] = []
  for (const d of ['community', 'leader', 'category'] as const) {
    if (rule.filters[d]?.length) f.push(`has({f_${d}:Array(String)}, ${COLUMN[d]})`)
  }
  return f.length ? ` AND ${f.join(' AND ')}` : ''
}

function params(rule: AlertRule, from: number, to: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    from: bound(from), to: bound(to), from_ms: from, to_ms: to,
    f_community: rule.filters.community ?? [], f_leader: rule.filters.leader ?? [], f_category: rule.filters.category ?? [],
    ...extra,
  }
}

const groupExpr = (rule: AlertRule) => (rule.groupBy ? COLUMN[rule.groupBy] : "''")
/** The hour rollup for whole hours, else the minute cube (alert windows are at most a day). */
const grain = (from: number, to: number) => grainFor(from, to, 'hour').name

async function rows(ch: ClickHouse, query: string, p: Record<string, unknown>): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const r of await queryRows<{ group_key: string; value: number | null }>(ch, query, p)) if (r.value !== null) out.set(String(r.group_key), Number(r.value))
  return out
}

/** The metric's value per group over [from, to); groups without rows are absent. */
export async function metricValues(ch: ClickHouse, rule: AlertRule, from: number, to: number, opts: { lateDeliveryMinutes: number; now: number }): Promise<Map<string, number>> {
  const g = groupExpr(rule)
  const gmv = (measure: string) => rows(ch, `SELECT ${g} AS group_key, ${measureSql(GMV_CUBE, measure)} AS value FROM {table:Identifier} WHERE ${RANGE}${where(rule)} GROUP BY group_key`, params(rule, from, to, { table: cubeTable(GMV_CUBE, grain(from, to)) }))
  switch (rule.metric) {
    case 'orders':
      return gmv('orders')
    case 'gmv_cents':
      return gmv('gmv_cents')
    case 'paying_users':
      return gmv('paying_users')
    case 'active_users':
      return rows(ch, `SELECT ${g} AS group_key, ${measureSql(ACTIVITY_CUBE, 'users')} AS value FROM {table:Identifier} WHERE ${RANGE}${where(rule)} GROUP BY group_key`, params(rule, from, to, { table: cubeTable(ACTIVITY_CUBE, grain(from, to)) }))
    case 'late_deliveries':
      // Unmerged lifecycle rows each carry their own flush's first event time: only a lower bound prunes.
      return rows(ch, `
        SELECT ${g} AS group_key, countIf(d >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') AND d < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC') AND dateDiff('second', p, d) > {late_s:UInt32}) AS value
        FROM (SELECT order_id, community_id, leader_id, assumeNotNull(min(paid_at)) AS p, assumeNotNull(min(delivered_at)) AS d
              FROM order_lifecycle WHERE first_event_time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') - INTERVAL 7 DAY${where(rule)}
              GROUP BY order_id, community_id, leader_id HAVING min(paid_at) IS NOT NULL AND min(delivered_at) IS NOT NULL)
        GROUP BY group_key`, params(rule, from, to, { late_s: opts.lateDeliveryMinutes * 60 }))
    case 'complaint_rate': {
      const [complaints, orders] = await Promise.all([
        rows(ch, `SELECT ${g} AS group_key, ${measureSql(COMPLAINTS_CUBE, 'complaints')} AS value FROM {table:Identifier} WHERE ${RANGE}${where(rule)} GROUP BY group_key`, params(rule, from, to, { table: cubeTable(COMPLAINTS_CUBE, grain(from, to)) })),
        gmv('orders'),
      ])
      const out = new Map<string, number>()
      for (const [k, n] of orders) if (n > 0) out.set(k, (complaints.get(k) ?? 0) / n)
      return out
    }
    case 'dead_letter_rate':
      return rows(ch, `SELECT '' AS group_key, sumIf(events, kind = 'dead_letter') / sumIf(events, kind = 'records') AS value FROM quality_minute WHERE ${RANGE} HAVING sumIf(events, kind = 'records') > 0`, params(rule, from, to))
    case 'expiry_at_risk_units': {
      // As of the window's end; the same assessment as /v1/expiry (FIFO at the last 7 days' sales).
      const a = await assessExpiry((sql, p) => queryRows(ch, sql, p), { at: to, turnoverDays: 7, scope: UNSCOPED, community: rule.filters.community })
      const out = new Map<string, number>()
      for (const b of a.assessed) {
        const k = rule.groupBy ? b.community_id : ''
        out.set(k, (out.get(k) ?? 0) + b.at_risk)
      }
      return out
    }
    case 'freshness_seconds': {
      const m = await rows(ch, `SELECT '' AS group_key, watermark AS value FROM (${MIN_WATERMARK}) WHERE partitions > 0`, {})
      const w = m.get('')
      return w === undefined ? new Map() : new Map([['', Math.max(0, (opts.now - w) / 1000)]])
    }
  }
}

import { cubeTable, INVENTORY_MOVEMENTS_CUBE, measureSql } from '../../pipelines/index.js'
import { COMMUNITY_SCOPE, SKU_SCOPE, filterOn } from '../scope.js'
import { fifoRisk } from './fifo.js'

/*
 * Expiry / spoilage assessment (issue 6). For every community warehouse and sku: the batches on
 * hand (received − sold − lost, from the inventory_batches state), sold first-expiring-first
 * (FIFO) at the average daily sales of the last `turnoverDays` days. For each batch: the days
 * until it expires, the stock that sells before it, its days of cover, the quantity that will not
 * sell before it expires, a risk level and a suggested action — promote, mark down, remove, or
 * transfer to another community whose warehouse sells the sku faster than its own stock covers.
 * Served by /v1/expiry and read by the expiry_at_risk_units alert metric.
 */

/** Runs one parameterized query (the API's with its deadline, or a plain one). */
export type RowQuery = <T>(sql: string, params: Record<string, unknown>) => Promise<T[]>

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v))

const BATCHES = `
  SELECT warehouse_id, community_id, sku, batch_id, toInt64(sum(received)) - toInt64(sum(sold)) - toInt64(sum(lost)) AS on_hand,
         -- aliases never reuse a column name: max(expiry_date) below must see the column
         toString(max(production_date)) AS produced, toString(max(expiry_date)) AS expires
  FROM inventory_batches
  WHERE ${COMMUNITY_SCOPE} AND ${SKU_SCOPE} AND ${filterOn('f_community', 'community_id')} AND ${filterOn('f_sku', 'sku')}
  GROUP BY warehouse_id, community_id, sku, batch_id
  HAVING on_hand > 0 AND max(expiry_date) IS NOT NULL
  ORDER BY warehouse_id, sku, expires, produced, batch_id`

/**
 * Sales per warehouse and sku over the turnover window, and when the window first saw the pair
 * (any movement): a sku stocked for less than the window is averaged over the days it existed.
 */
const RATES = `
  SELECT warehouse_id, community_id, sku, ${measureSql(INVENTORY_MOVEMENTS_CUBE, 'qty', "kind = 'sale'")} AS sold, toUnixTimestamp(min(window_start)) AS first_seen
  FROM ${cubeTable(INVENTORY_MOVEMENTS_CUBE, 'minute')}
  WHERE window_start >= toDateTime({from:UInt32}, 'UTC') AND window_start < toDateTime({to:UInt32}, 'UTC')
    AND ${COMMUNITY_SCOPE} AND ${SKU_SCOPE} AND ${filterOn('f_sku', 'sku')}
  GROUP BY warehouse_id, community_id, sku`

/** On hand per warehouse and sku, for transfer targets. */
const STOCK = `
  SELECT warehouse_id, sku, toInt64(sum(received)) - toInt64(sum(sold)) - toInt64(sum(lost)) AS on_hand
  FROM inventory_batches WHERE ${COMMUNITY_SCOPE} AND ${SKU_SCOPE} AND ${filterOn('f_sku', 'sku')}
  GROUP BY warehouse_id, sku`

export interface BatchRisk {
  warehouse_id: string
  community_id: string
  sku: string
  batch_id: string
  on_hand: number
  production_date: string
  expiry_date: string
  days_to_expiry: number
  daily_sales: number
  stock_ahead: number
  days_of_cover: number | null
  sells_before_expiry: number
  at_risk: number
  risk: 'ok' | 'medium' | 'high' | 'expired'
  action: 'none' | 'promote' | 'mark_down' | 'transfer' | 'remove'
  transfer_to: { community_id: string; warehouse_id: string; spare_demand: number } | null
}

export interface ExpiryAssessment {
  readonly at: string
  readonly turnover_days: number
  readonly summary: { readonly batches: number; readonly at_risk_batches: number; readonly at_risk_units: number }
  /** Sorted by risk, then days to expiry; batches that sell in time only with `all`. */
  readonly batches: readonly BatchRisk[]
  /** Every assessed batch, in time or not. */
  readonly assessed: readonly BatchRisk[]
}

export interface ExpiryOptions {
  readonly at: number
  readonly turnoverDays: number
  /** Row scope parameters (COMMUNITY_SCOPE, SKU_SCOPE); UNSCOPED sees everything. */
  readonly scope: object
  readonly community?: readonly string[]
  readonly sku?: readonly string[]
  readonly all?: boolean
}

/** Assesses every batch on hand as of `at` (FIFO at recent daily sales). */
export async function assessExpiry(query: RowQuery, opts: ExpiryOptions): Promise<ExpiryAssessment> {
  const at = opts.at
  const dayEnd = Math.floor(at / 60_000) * 60
  const params = { ...opts.scope, f_community: opts.community ?? [], f_sku: opts.sku ?? [], from: dayEnd - opts.turnoverDays * 86_400, to: dayEnd }
  const [batches, rates, stock] = await Promise.all([
    query<{ warehouse_id: string; community_id: string; sku: string; batch_id: string; on_hand: number; produced: string; expires: string }>(BATCHES, params),
    query<{ warehouse_id: string; community_id: string; sku: string; sold: number; first_seen: number }>(RATES, params),
    query<{ warehouse_id: string; sku: string; on_hand: number }>(STOCK, params),
  ])
  // Days observed: the window, or less for a pair first seen inside it (at least an hour).
  const dailySales = (r: { sold: number; first_seen: number }) => num(r.sold) / Math.max(1 / 24, Math.min(opts.turnoverDays, (params.to - num(r.first_seen)) / 86_400))
  const rate = new Map(rates.map((r) => [`${r.warehouse_id}|${r.sku}`, dailySales(r)]))
  const onHand = new Map(stock.map((s) => [`${s.warehouse_id}|${s.sku}`, num(s.on_hand)]))
  const groups = new Map<string, typeof batches>()
  for (const b of batches) {
    const k = `${b.warehouse_id}|${b.sku}`
    groups.set(k, [...(groups.get(k) ?? []), b])
  }
  const out: BatchRisk[] = []
  for (const [k, list] of groups) {
    const perDay = rate.get(k) ?? 0
    const fifo = fifoRisk(list.map((b) => ({ on_hand: num(b.on_hand), expiry_date: b.expires })), perDay, at)
    list.forEach((b, i) => {
      // BATCHES keeps only batches with an expiry date, so every one has its days to expiry.
      const f = { ...fifo[i]!, days_to_expiry: fifo[i]!.days_to_expiry as number }
      const onHandB = num(b.on_hand)
      const risk: BatchRisk['risk'] = f.days_to_expiry <= 0 ? 'expired' : f.at_risk === 0 ? 'ok' : f.at_risk * 2 >= onHandB || f.days_to_expiry <= 1 ? 'high' : 'medium'
      // Transfer: another warehouse that sells this sku faster than its own stock covers within the batch's remaining days.
      let transfer: BatchRisk['transfer_to'] = null
      if (risk === 'medium' || risk === 'high') {
        for (const r of rates) {
          if (r.sku !== b.sku || r.warehouse_id === b.warehouse_id) continue
          const spare = Math.floor(dailySales(r) * f.days_to_expiry - (onHand.get(`${r.warehouse_id}|${r.sku}`) ?? 0))
          if (spare > 0 && (!transfer || spare > transfer.spare_demand)) transfer = { community_id: r.community_id, warehouse_id: r.warehouse_id, spare_demand: spare }
        }
      }
      const action: BatchRisk['action'] = risk === 'expired' ? 'remove' : risk === 'ok' ? 'none' : transfer && transfer.spare_demand >= f.at_risk / 2 ? 'transfer' : risk === 'high' && f.days_to_expiry <= 2 ? 'mark_down' : 'promote'
      out.push({ warehouse_id: b.warehouse_id, community_id: b.community_id, sku: b.sku, batch_id: b.batch_id, on_hand: onHandB, production_date: b.produced, expiry_date: b.expires, ...f, daily_sales: Math.round(perDay * 100) / 100, risk, action, transfer_to: action === 'transfer' ? transfer : null })
    })
  }
  const order = { expired: 0, high: 1, medium: 2, ok: 3 }
  const listed = out.filter((b) => opts.all || b.risk !== 'ok').sort((a, b) => order[a.risk] - order[b.risk] || a.days_to_expiry - b.days_to_expiry || b.at_risk - a.at_risk || a.batch_id.localeCompare(b.batch_id))
  return {
    at: new Date(at).toISOString(),
    turnover_days: opts.turnoverDays,
    summary: { batches: out.length, at_risk_batches: out.filter((b) => b.risk !== 'ok').length, at_risk_units: out.reduce((n, b) => n + b.at_risk, 0) },
    batches: listed,
    assessed: out,
  }
}

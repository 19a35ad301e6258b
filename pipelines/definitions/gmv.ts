import type { OrderEvent } from '../../schemas/index.js'
import { add, collect, type CubeBuffer } from '../runtime/cube-buffer.js'
import type { PipelineDefinition } from '../runtime/pipeline.js'
import { minuteStart } from '../runtime/time.js'

const TABLE = 'gmv_minute'

/**
 * Splits an order-level amount over its lines by line value with the largest-remainder method:
 * integer cents per line that add up exactly to the amount, deterministically.
 */
export function allocate(amount: number, weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0)
  if (total === 0) return weights.map((_, i) => (i === 0 ? amount : 0))
  const exact = weights.map((w) => (amount * w) / total)
  const out = exact.map(Math.floor)
  let rest = amount - out.reduce((a, b) => a + b, 0)
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1])
  for (const [, i] of order) {
    if (rest <= 0) break
    out[i] = (out[i] as number) + 1
    rest--
  }
  return out
}

function row(out: CubeBuffer, o: OrderEvent, category: string) {
  const window = minuteStart(o.eventTime)
  return out.row(TABLE, `${window}|${o.communityId}|${o.leaderId}|${category}`, () => ({
    window_start: window / 1000,
    community_id: o.communityId,
    leader_id: o.leaderId,
    category_id: category,
    gmv_cents: 0,
    items: 0,
    orders: new Set<string>(),
    paying_users: new Set<string>(),
    refund_cents: 0,
    refunded_orders: new Set<string>(),
    cancelled_orders: new Set<string>(),
  }))
}

/**
 * GMV by minute, community, group leader and category. Line-level measures (GMV, items) are sums
 * per category; order-level ones are distinct sets (orders, paying users, refunded and cancelled
 * orders), so they stay exact when categories are merged; refunds are allocated over the order's
 * categories in exact cents. GMV counts at `paid`.
 */
export const gmv: PipelineDefinition = {
  name: 'gmv',
  description: 'GMV, orders, items, paying users, refunds and cancellations by minute, community, leader and category',
  sources: ['order'],
  tables: [TABLE],
  accumulate(e, out) {
    if (e.type !== 'order') return
    const o = e.event
    switch (o.status) {
      case 'paid':
        for (const line of o.lines) {
          const r = row(out, o, line.categoryId)
          add(r, 'gmv_cents', line.qty * line.unitPriceCents)
          add(r, 'items', line.qty)
          collect(r, 'orders', o.orderId)
          collect(r, 'paying_users', o.userId)
        }
        break
      case 'refunded': {
        const shares = allocate(o.refundCents ?? 0, o.lines.map((l) => l.qty * l.unitPriceCents))
        o.lines.forEach((line, i) => {
          const r = row(out, o, line.categoryId)
          add(r, 'refund_cents', shares[i] as number)
          collect(r, 'refunded_orders', o.orderId)
        })
        break
      }
      case 'cancelled':
        for (const line of o.lines) collect(row(out, o, line.categoryId), 'cancelled_orders', o.orderId)
        break
      default:
    }
  },
}

import type { OrderStatus } from '../../schemas/index.js'
import { add } from '../runtime/cube-buffer.js'
import type { PipelineDefinition } from '../runtime/pipeline.js'
import { minuteStart } from '../runtime/time.js'

const ORDERS = 'order_lifecycle'
const COMPLAINTS = 'complaints_minute'

const STATUS_COLUMN: Partial<Record<OrderStatus, string>> = {
  created: 'created_at',
  paid: 'paid_at',
  accepted: 'accepted_at',
  sorted: 'sorted_at',
  out_for_delivery: 'out_for_delivery_at',
  delivered: 'delivered_at',
  cancelled: 'cancelled_at',
  refunded: 'refunded_at',
}

/**
 * Order lifecycle: one row per order (merged by ClickHouse) with the first time of each status,
 * its leader and community, and complaints — for group-leader efficiency (accept → sort → deliver).
 * Complaints are also counted by minute, community, leader and reason.
 */
export const lifecycle: PipelineDefinition = {
  name: 'lifecycle',
  description: 'per order: time of each status, leader, community, complaints; complaints by minute and reason',
  sources: ['order'],
  tables: [ORDERS, COMPLAINTS],
  accumulate(e, out) {
    if (e.type !== 'order') return
    const o = e.event
    const r = out.row(ORDERS, `${o.orderId}|${o.communityId}|${o.leaderId}`, () => ({
      order_id: o.orderId,
      community_id: o.communityId,
      leader_id: o.leaderId,
      user_id: o.userId,
      amount_cents: o.amountCents,
      created_at: null,
      paid_at: null,
      accepted_at: null,
      sorted_at: null,
      out_for_delivery_at: null,
      delivered_at: null,
      cancelled_at: null,
      refunded_at: null,
      complaints: 0,
      first_event_time: o.eventTime,
    }))
    const column = STATUS_COLUMN[o.status]
    if (column) {
      const current = r[column] as number | null
      if (current === null || o.eventTime < current) r[column] = o.eventTime
    }
    if (o.eventTime < (r.first_event_time as number)) r.first_event_time = o.eventTime
    if (o.status === 'complaint') {
      add(r, 'complaints', 1)
      const window = minuteStart(o.eventTime)
      const reason = o.complaintReason ?? 'other'
      const c = out.row(COMPLAINTS, `${window}|${o.communityId}|${o.leaderId}|${reason}`, () => ({
        window_start: window / 1000,
        community_id: o.communityId,
        leader_id: o.leaderId,
        reason,
        complaints: 0,
      }))
      add(c, 'complaints', 1)
    }
  },
}

import type { BehaviourEvent, InventoryEvent, OrderEvent, TypedEvent } from '../../schemas/index.js'

/** Where a record came from; kept on raw facts for tracing and oracles. */
export interface SourcePosition {
  readonly topic: string
  readonly partition: number
  readonly offset: string
}

export const RAW_TABLES = { behaviour: 'behaviour_events', order: 'order_events', inventory: 'inventory_events' } as const

function behaviourRow(e: BehaviourEvent, pos: SourcePosition): Record<string, unknown> {
  return {
    event_id: e.eventId,
    event_time: e.eventTime,
    action: e.action,
    user_id: e.userId,
    community_id: e.communityId,
    sku: e.sku,
    query: e.query,
    session_id: e.sessionId,
    device: e.device,
    channel: e.channel,
    lat: e.lat,
    lon: e.lon,
    source_topic: pos.topic,
    source_partition: pos.partition,
    source_offset: pos.offset,
  }
}

function orderRow(e: OrderEvent, pos: SourcePosition): Record<string, unknown> {
  return {
    event_id: e.eventId,
    event_time: e.eventTime,
    order_id: e.orderId,
    status: e.status,
    user_id: e.userId,
    community_id: e.communityId,
    leader_id: e.leaderId,
    line_sku: e.lines.map((l) => l.sku),
    line_category_id: e.lines.map((l) => l.categoryId),
    line_qty: e.lines.map((l) => l.qty),
    line_unit_price_cents: e.lines.map((l) => l.unitPriceCents),
    amount_cents: e.amountCents,
    refund_cents: e.refundCents,
    complaint_reason: e.complaintReason,
    delivery_lat: e.deliveryLat,
    delivery_lon: e.deliveryLon,
    customer_name: e.customer.name,
    customer_phone: e.customer.phone,
    customer_address: e.customer.address,
    source_topic: pos.topic,
    source_partition: pos.partition,
    source_offset: pos.offset,
  }
}

function inventoryRow(e: InventoryEvent, pos: SourcePosition): Record<string, unknown> {
  return {
    event_id: e.eventId,
    event_time: e.eventTime,
    kind: e.kind,
    warehouse_id: e.warehouseId,
    community_id: e.communityId,
    sku: e.sku,
    batch_id: e.batchId,
    qty: e.qty,
    production_date: e.productionDate,
    expiry_date: e.expiryDate,
    loss_reason: e.lossReason,
    order_id: e.orderId,
    source_topic: pos.topic,
    source_partition: pos.partition,
    source_offset: pos.offset,
  }
}

/** The raw fact row of an event, for the table RAW_TABLES[event.type]. */
export function rawFactRow(e: TypedEvent, pos: SourcePosition): Record<string, unknown> {
  switch (e.type) {
    case 'behaviour':
      return behaviourRow(e.event, pos)
    case 'order':
      return orderRow(e.event, pos)
    case 'inventory':
      return inventoryRow(e.event, pos)
  }
}

/*
 * The way back: raw fact rows → events (for `streamcube rebuild`, which recomputes cubes from the
 * raw facts through the same pipeline code). RAW_FACT_SELECT reads a table's columns in the shape
 * eventFromRawFact expects; together they invert rawFactRow exactly (a round-trip test holds them).
 * (The time is aliased event_ms, not event_time: a SELECT alias would shadow the column in WHERE.)
 */
export const RAW_FACT_SELECT: Readonly<Record<keyof typeof RAW_TABLES, string>> = {
  behaviour:
    'event_id, toUnixTimestamp64Milli(event_time) AS event_ms, action, user_id, community_id, sku, query, session_id, device, channel, lat, lon',
  order:
    'event_id, toUnixTimestamp64Milli(event_time) AS event_ms, order_id, status, user_id, community_id, leader_id, line_sku, line_category_id, line_qty, line_unit_price_cents, amount_cents, refund_cents, complaint_reason, delivery_lat, delivery_lon, customer_name, customer_phone, customer_address',
  inventory:
    'event_id, toUnixTimestamp64Milli(event_time) AS event_ms, kind, warehouse_id, community_id, sku, batch_id, qty, toString(production_date) AS production_date, toString(expiry_date) AS expiry_date, loss_reason, order_id',
}

type RawRow = Record<string, unknown>
const num = (v: unknown): number => Number(v)
const nullableNum = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
const str = (v: unknown): string => String(v)
const nullableStr = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

/** The event a raw fact row (read with RAW_FACT_SELECT) was made from. */
export function eventFromRawFact(type: keyof typeof RAW_TABLES, r: RawRow): TypedEvent {
  switch (type) {
    case 'behaviour':
      return {
        type,
        event: {
          eventId: str(r.event_id),
          eventTime: num(r.event_ms),
          action: str(r.action) as BehaviourEvent['action'],
          userId: str(r.user_id),
          communityId: str(r.community_id),
          sku: nullableStr(r.sku),
          query: nullableStr(r.query),
          sessionId: str(r.session_id),
          device: str(r.device) as BehaviourEvent['device'],
          channel: str(r.channel) as BehaviourEvent['channel'],
          lat: nullableNum(r.lat),
          lon: nullableNum(r.lon),
        },
      }
    case 'order': {
      const skus = r.line_sku as string[]
      const categories = r.line_category_id as string[]
      const qty = r.line_qty as unknown[]
      const prices = r.line_unit_price_cents as unknown[]
      return {
        type,
        event: {
          eventId: str(r.event_id),
          eventTime: num(r.event_ms),
          orderId: str(r.order_id),
          status: str(r.status) as OrderEvent['status'],
          userId: str(r.user_id),
          communityId: str(r.community_id),
          leaderId: str(r.leader_id),
          lines: skus.map((sku, i) => ({ sku, categoryId: categories[i] as string, qty: num(qty[i]), unitPriceCents: num(prices[i]) })),
          amountCents: num(r.amount_cents),
          refundCents: nullableNum(r.refund_cents),
          complaintReason: nullableStr(r.complaint_reason) as OrderEvent['complaintReason'],
          deliveryLat: num(r.delivery_lat),
          deliveryLon: num(r.delivery_lon),
          customer: { name: str(r.customer_name), phone: str(r.customer_phone), address: str(r.customer_address) },
        },
      }
    }
    case 'inventory':
      return {
        type,
        event: {
          eventId: str(r.event_id),
          eventTime: num(r.event_ms),
          kind: str(r.kind) as InventoryEvent['kind'],
          warehouseId: str(r.warehouse_id),
          communityId: str(r.community_id),
          sku: str(r.sku),
          batchId: nullableStr(r.batch_id),
          qty: num(r.qty),
          productionDate: nullableStr(r.production_date),
          expiryDate: nullableStr(r.expiry_date),
          lossReason: nullableStr(r.loss_reason) as InventoryEvent['lossReason'],
          orderId: nullableStr(r.order_id),
        },
      }
  }
}

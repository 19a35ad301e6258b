import type { BehaviourEvent, InventoryEvent, OrderEvent, TypedEvent } from '../../schemas/index.js'

/** Where a record came from; kept on raw facts for tracing and oracles. */
export interface SourcePosition {
  readonly topic: string
  readonly partition: number
  readonly offset: string
}

export const RAW_TABLES = { behaviour: 'behaviour_events', order: 'order_events', inventory: 'inventory_events' } as const

function source(pos: SourcePosition) {
  return { source_topic: pos.topic, source_partition: pos.partition, source_offset: pos.offset }
}

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
    ...source(pos),
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
    ...source(pos),
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
    ...source(pos),
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

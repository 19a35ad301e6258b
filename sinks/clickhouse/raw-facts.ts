import type { BehaviourEvent, InventoryEvent, OrderEvent, TypedEvent } from '../../schemas/index.js'

/** Where a record came from; kept on raw facts for tracing and oracles. */
export interface SourcePosition {
  readonly topic: string
  readonly partition: number
  readonly offset: string
}

export const RAW_TABLES = { behaviour: 'behaviour_events', order: 'order_events', inventory: 'inventory_events' } as const

/**
 * Each raw fact table's columns, in the order rawFactValues gives their values, with where each
 * value comes from: an event field, a field of every order line (`lines[].sku`: the column is an
 * array), a field of a nested object (`customer.name`), or the record's position (`@topic`,
 * `@partition`, `@offset`). The JSON fast path writes rows by the sources (engine/stream-rows.ts);
 * rawFactValues spells the same out by hand for the slow path, and
 * tests/unit/schemas/json-scan.test.ts holds the two rows equal byte for byte.
 */
const RAW_FACTS = {
  behaviour: {
    event_id: 'eventId', event_time: 'eventTime', action: 'action', user_id: 'userId', community_id: 'communityId', sku: 'sku', query: 'query',
    session_id: 'sessionId', device: 'device', channel: 'channel', lat: 'lat', lon: 'lon',
    source_topic: '@topic', source_partition: '@partition', source_offset: '@offset',
  },
  order: {
    event_id: 'eventId', event_time: 'eventTime', order_id: 'orderId', status: 'status', user_id: 'userId', community_id: 'communityId', leader_id: 'leaderId',
    line_sku: 'lines[].sku', line_category_id: 'lines[].categoryId', line_qty: 'lines[].qty', line_unit_price_cents: 'lines[].unitPriceCents',
    amount_cents: 'amountCents', refund_cents: 'refundCents', complaint_reason: 'complaintReason', delivery_lat: 'deliveryLat', delivery_lon: 'deliveryLon',
    customer_name: 'customer.name', customer_phone: 'customer.phone', customer_address: 'customer.address',
    source_topic: '@topic', source_partition: '@partition', source_offset: '@offset',
  },
  inventory: {
    event_id: 'eventId', event_time: 'eventTime', kind: 'kind', warehouse_id: 'warehouseId', community_id: 'communityId', sku: 'sku', batch_id: 'batchId', qty: 'qty',
    production_date: 'productionDate', expiry_date: 'expiryDate', loss_reason: 'lossReason', order_id: 'orderId',
    source_topic: '@topic', source_partition: '@partition', source_offset: '@offset',
  },
} as const satisfies Record<keyof typeof RAW_TABLES, Readonly<Record<string, string>>>

type RawFactType = keyof typeof RAW_TABLES
const byType = <T>(f: (facts: Readonly<Record<string, string>>) => T): Record<RawFactType, T> => ({ behaviour: f(RAW_FACTS.behaviour), order: f(RAW_FACTS.order), inventory: f(RAW_FACTS.inventory) })

/** Each raw fact table's columns, in the order rawFactValues gives their values. */
export const RAW_FACT_COLUMNS: Readonly<Record<RawFactType, readonly string[]>> = byType((facts) => Object.keys(facts))

/** Where each column's value comes from, in RAW_FACT_COLUMNS order (see RAW_FACTS). */
export const RAW_FACT_SOURCES: Readonly<Record<RawFactType, readonly string[]>> = byType((facts) => Object.values(facts))

function orderLines(e: OrderEvent): [string[], string[], number[], number[]] {
  const n = e.lines.length
  const sku = new Array<string>(n)
  const category = new Array<string>(n)
  const qty = new Array<number>(n)
  const price = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    const l = e.lines[i] as OrderEvent['lines'][number]
    sku[i] = l.sku
    category[i] = l.categoryId
    qty[i] = l.qty
    price[i] = l.unitPriceCents
  }
  return [sku, category, qty, price]
}

/**
 * The raw fact values of an event, in the order of RAW_FACT_COLUMNS[event.type]: one array per
 * event on the hot path (no object, no key walk when the batch is serialised).
 */
export function rawFactValues(te: TypedEvent, pos: SourcePosition): unknown[] {
  switch (te.type) {
    case 'behaviour': {
      const e: BehaviourEvent = te.event
      return [e.eventId, e.eventTime, e.action, e.userId, e.communityId, e.sku, e.query, e.sessionId, e.device, e.channel, e.lat, e.lon, pos.topic, pos.partition, pos.offset]
    }
    case 'order': {
      const e: OrderEvent = te.event
      const [sku, category, qty, price] = orderLines(e)
      return [
        e.eventId, e.eventTime, e.orderId, e.status, e.userId, e.communityId, e.leaderId, sku, category, qty, price,
        e.amountCents, e.refundCents, e.complaintReason, e.deliveryLat, e.deliveryLon, e.customer.name, e.customer.phone, e.customer.address,
        pos.topic, pos.partition, pos.offset,
      ]
    }
    case 'inventory': {
      const e: InventoryEvent = te.event
      return [e.eventId, e.eventTime, e.kind, e.warehouseId, e.communityId, e.sku, e.batchId, e.qty, e.productionDate, e.expiryDate, e.lossReason, e.orderId, pos.topic, pos.partition, pos.offset]
    }
  }
}

/** The raw fact row of an event, for the table RAW_TABLES[event.type] (rawFactValues by column name). */
export function rawFactRow(e: TypedEvent, pos: SourcePosition): Record<string, unknown> {
  const values = rawFactValues(e, pos)
  const row: Record<string, unknown> = {}
  RAW_FACT_COLUMNS[e.type].forEach((c, i) => (row[c] = values[i]))
  return row
}

/*
 * The way back: raw fact rows → events, for readers that want the events themselves (rebuild no
 * longer does: it runs the live views' queries over the raw facts). RAW_FACT_SELECT reads a table's columns in the shape
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
  // What every stream's events have.
  const common = { eventId: str(r.event_id), eventTime: num(r.event_ms), communityId: str(r.community_id) }
  switch (type) {
    case 'behaviour':
      return {
        type,
        event: {
          ...common,
          action: str(r.action) as BehaviourEvent['action'],
          userId: str(r.user_id),
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
          ...common,
          orderId: str(r.order_id),
          status: str(r.status) as OrderEvent['status'],
          userId: str(r.user_id),
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
          ...common,
          kind: str(r.kind) as InventoryEvent['kind'],
          warehouseId: str(r.warehouse_id),
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

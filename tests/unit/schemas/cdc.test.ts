import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createCanalCodec, createDebeziumCodec, decimalToCents, DecodeErrorCode, type DecodeResult, type InventoryEvent, type OrderEvent, type TypedEvent } from '../../../schemas/index.js'
import { BOUNDS, NOW } from '../fixtures.js'

const sample = (name: string) => JSON.parse(readFileSync(new URL(`./samples/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v))
const debezium = createDebeziumCodec({ bounds: BOUNDS })
const canal = createCanalCodec({ bounds: BOUNDS })

function events(r: DecodeResult<readonly TypedEvent[]>): readonly TypedEvent[] {
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}
function error(r: DecodeResult<readonly TypedEvent[]>) {
  if (r.ok) throw new Error('expected an error')
  return r.error
}

const UPDATED = NOW - 3_600_000
const orderRow = {
  order_id: 'o-1001',
  status: 'created',
  user_id: 'u-1',
  community_id: 'c-001',
  leader_id: 'l-001-1',
  total_amount: '25.80',
  refund_amount: null,
  complaint_reason: null,
  delivery_lat: 30.28,
  delivery_lon: 120.15,
  customer_name: 'Li Na',
  customer_phone: '13812341234',
  customer_address: 'Xixi Garden, Building 3',
  lines: JSON.stringify([{ sku: 'sku-0001', category_id: 'vegetables', qty: 2, unit_price: '3.90' }, { sku: 'sku-0042', category_id: 'dairy', qty: 1, unit_price: '18.00' }]),
  updated_at: UPDATED,
}
const inventoryRow = { warehouse_id: 'wh-001', community_id: 'c-001', sku: 'sku-0001', batch_id: 'b-77', qty: 40, production_date: 20_773, expiry_date: 20_778, updated_at: UPDATED }

/** The Debezium documentation's envelope, carrying a row of our table instead of `customers`. */
function envelope(table: string, op: string, before: unknown, after: unknown, schemaFields?: unknown[]) {
  const doc = sample('debezium-customers-create.json') as { schema: { fields: { field: string; fields?: unknown[] }[] }; payload: Record<string, unknown> }
  const payload = { ...doc.payload, op, before, after, source: { ...(doc.payload.source as object), table, db: 'shop', ts_ms: UPDATED + 5 } }
  if (!schemaFields) return payload
  const schema = { ...doc.schema, fields: doc.schema.fields.map((f) => (f.field === 'before' || f.field === 'after' ? { ...f, fields: schemaFields } : f)) }
  return { schema, payload }
}

describe('Debezium envelopes', () => {
  it('the documentation sample (customers table) is recognised and refused as an unmapped table', () => {
    const e = error(debezium.decode(bytes(sample('debezium-customers-create.json'))))
    expect(e.code).toBe(DecodeErrorCode.CDC_UNKNOWN_TABLE)
    expect(e.path).toBe('source.table')
  })

  it('the same sample without the schema/payload wrapper decodes the same way', () => {
    const doc = sample('debezium-customers-create.json') as { payload: unknown }
    expect(error(debezium.decode(bytes(doc.payload))).code).toBe(DecodeErrorCode.CDC_UNKNOWN_TABLE)
  })

  it('an orders insert becomes a created order event with exact cents', () => {
    const [e] = events(debezium.decode(bytes(envelope('orders', 'c', null, orderRow))))
    expect(e?.type).toBe('order')
    const o = e?.event as OrderEvent
    expect(o).toMatchObject({ orderId: 'o-1001', status: 'created', amountCents: 2580, eventTime: UPDATED, communityId: 'c-001' })
    expect(o.lines).toEqual([
      { sku: 'sku-0001', categoryId: 'vegetables', qty: 2, unitPriceCents: 390 },
      { sku: 'sku-0042', categoryId: 'dairy', qty: 1, unitPriceCents: 1800 },
    ])
  })

  it("decimals in Debezium's binary precise mode are decoded with the scale from the schema", () => {
    // 2580 = 0x0A14 → base64 "ChQ=", scale 2 → 25.80
    const fields = [
      { type: 'bytes', optional: false, name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '2', 'connect.decimal.precision': '12' }, field: 'total_amount' },
      { type: 'int64', optional: false, name: 'io.debezium.time.Timestamp', field: 'updated_at' },
    ]
    const [e] = events(debezium.decode(bytes(envelope('orders', 'c', null, { ...orderRow, total_amount: 'ChQ=' }, fields))))
    expect((e?.event as OrderEvent).amountCents).toBe(2580)
  })

  it('a status change is a lifecycle event; an update that keeps the status is none', () => {
    const paid = { ...orderRow, status: 'paid', updated_at: UPDATED + 60_000 }
    expect(events(debezium.decode(bytes(envelope('orders', 'u', orderRow, paid))))).toHaveLength(1)
    const moved = { ...orderRow, customer_address: 'elsewhere', updated_at: UPDATED + 90_000 }
    expect(events(debezium.decode(bytes(envelope('orders', 'u', orderRow, moved))))).toHaveLength(0)
  })

  it('a re-snapshot (op r) of an unchanged row yields the same event id, so it is counted once downstream', () => {
    const [created] = events(debezium.decode(bytes(envelope('orders', 'c', null, orderRow))))
    const [snapshot] = events(debezium.decode(bytes(envelope('orders', 'r', null, orderRow))))
    expect(snapshot?.event.eventId).toBe(created?.event.eventId)
  })

  it('a re-snapshot after an address edit (a newer updated_at, the same status) is the same lifecycle step, not a second one', () => {
    const paid = { ...orderRow, status: 'paid', updated_at: UPDATED + 60_000 }
    const [step] = events(debezium.decode(bytes(envelope('orders', 'u', orderRow, paid))))
    const moved = { ...paid, customer_address: 'elsewhere', updated_at: UPDATED + 90_000 }
    const [snapshot] = events(debezium.decode(bytes(envelope('orders', 'r', null, moved))))
    expect(step?.event.eventId).toBe('cdc:orders:o-1001:paid')
    expect(snapshot?.event.eventId).toBe(step?.event.eventId)
  })

  it('a re-snapshot of an inventory row is its last state again: the receipt of a row only inserted, the stocktake of a row updated', () => {
    const [receipt] = events(debezium.decode(bytes(envelope('inventory', 'c', null, inventoryRow))))
    const [again] = events(debezium.decode(bytes(envelope('inventory', 'r', null, inventoryRow))))
    expect((receipt?.event as InventoryEvent).kind).toBe('receipt')
    expect(again?.event.eventId).toBe(receipt?.event.eventId)
    const counted = { ...inventoryRow, qty: 37, updated_at: UPDATED + 60_000 }
    const [stocktake] = events(debezium.decode(bytes(envelope('inventory', 'u', inventoryRow, counted))))
    const [later] = events(debezium.decode(bytes(envelope('inventory', 'r', null, counted))))
    expect((stocktake?.event as InventoryEvent).kind).toBe('stocktake')
    expect(later?.event.eventId).toBe(stocktake?.event.eventId)
  })

  it("with a source's stream, any table name maps to that stream (the spec says what the topic carries)", () => {
    const orders = createDebeziumCodec({ bounds: BOUNDS, stream: 'order' })
    const [e] = events(orders.decode(bytes(envelope('order_info', 'c', null, orderRow))))
    expect(e?.type).toBe('order')
    const stock = createCanalCodec({ bounds: BOUNDS, stream: 'inventory' })
    const msg = { data: [{ ...inventoryRow, qty: '40', production_date: '2026-11-17', expiry_date: '2026-11-22', updated_at: String(UPDATED) }], old: null, table: 'stock_batches', type: 'INSERT', isDdl: false, es: UPDATED }
    expect(events(stock.decode(bytes(msg)))[0]?.type).toBe('inventory')
  })

  it('deletes of orders, tombstones and truncates carry no business event', () => {
    expect(events(debezium.decode(bytes(envelope('orders', 'd', orderRow, null))))).toEqual([])
    expect(events(debezium.decode(null))).toEqual([])
    expect(events(debezium.decode(bytes(envelope('orders', 't', null, null))))).toEqual([])
  })

  it('inventory rows: insert = receipt with dates from days since epoch, update = stocktake, delete = nothing left', () => {
    const [receipt] = events(debezium.decode(bytes(envelope('inventory', 'c', null, inventoryRow))))
    expect(receipt?.event).toMatchObject({ kind: 'receipt', qty: 40, batchId: 'b-77', productionDate: '2026-11-16', expiryDate: '2026-11-21' })
    const [count] = events(debezium.decode(bytes(envelope('inventory', 'u', inventoryRow, { ...inventoryRow, qty: 31 }))))
    expect(count?.event).toMatchObject({ kind: 'stocktake', qty: 31 })
    const [gone] = events(debezium.decode(bytes(envelope('inventory', 'd', inventoryRow, null))))
    expect((gone?.event as InventoryEvent).qty).toBe(0)
  })

  it('time columns in another unit are read by their Debezium type or magnitude (days, ms, µs)', () => {
    // production_date as epoch ms instead of days since epoch; updated_at in microseconds (Postgres MicroTimestamp).
    const row = { ...inventoryRow, production_date: Date.UTC(2026, 10, 16), updated_at: UPDATED * 1000 }
    const [e] = events(debezium.decode(bytes(envelope('inventory', 'c', null, row))))
    expect(e?.event).toMatchObject({ productionDate: '2026-11-16', eventTime: UPDATED })
    // updated_at in seconds is refused rather than read as January 1970.
    const seconds = error(debezium.decode(bytes(envelope('inventory', 'c', null, { ...inventoryRow, updated_at: Math.floor(UPDATED / 1000) }))))
    expect([seconds.code, seconds.path]).toEqual([DecodeErrorCode.TIMESTAMP_UNIT, 'eventTime'])
  })

  it('bad envelopes and columns are typed errors', () => {
    expect(error(debezium.decode(bytes({ before: null, after: orderRow, source: { table: 'orders' } }))).code).toBe(DecodeErrorCode.CDC_ENVELOPE)
    expect(error(debezium.decode(bytes(envelope('orders', 'x', null, orderRow)))).code).toBe(DecodeErrorCode.CDC_OPERATION)
    const e = error(debezium.decode(bytes(envelope('orders', 'c', null, { ...orderRow, total_amount: '12.345' }))))
    expect([e.code, e.path]).toEqual([DecodeErrorCode.CDC_COLUMN, 'total_amount'])
    const missing = error(debezium.decode(bytes(envelope('orders', 'c', null, { ...orderRow, leader_id: null }))))
    expect([missing.code, missing.path]).toEqual([DecodeErrorCode.CDC_COLUMN, 'leader_id'])
    const negative = error(debezium.decode(bytes(envelope('inventory', 'c', null, { ...inventoryRow, qty: -5 }))))
    expect([negative.code, negative.path]).toEqual([DecodeErrorCode.VALIDATION, 'qty'])
  })
})

describe('Canal flat messages', () => {
  const canalRow = (row: typeof orderRow) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : String(v)]))
  const localTime = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().replace('T', ' ').slice(0, 23)
  const message = (type: string, rows: unknown[], old: unknown[] | null = null) => ({ ...sample('canal-insert.json'), table: 'orders', database: 'shop', type, data: rows, old })

  it('the documentation sample (user table) is refused as an unmapped table', () => {
    const e = error(canal.decode(bytes(sample('canal-insert.json'))))
    expect([e.code, e.path]).toEqual([DecodeErrorCode.CDC_UNKNOWN_TABLE, 'table'])
  })

  it('a DDL message carries no business event', () => {
    expect(events(canal.decode(bytes(sample('canal-ddl.json'))))).toEqual([])
  })

  it('an INSERT of two rows (all values strings, DATETIME in +08:00) gives two events', () => {
    const a = { ...canalRow(orderRow), updated_at: localTime(UPDATED) }
    const b = { ...a, order_id: 'o-1002' }
    const out = events(canal.decode(bytes(message('INSERT', [a, b]))))
    expect(out.map((e) => (e.event as OrderEvent).orderId)).toEqual(['o-1001', 'o-1002'])
    expect(out[0]?.event.eventTime).toBe(UPDATED)
    expect((out[0]?.event as OrderEvent).amountCents).toBe(2580)
  })

  it('UPDATE uses old[] to see whether the status changed', () => {
    const now = { ...canalRow(orderRow), status: 'accepted', updated_at: localTime(UPDATED + 1000) }
    expect(events(canal.decode(bytes(message('UPDATE', [now], [{ status: 'paid', updated_at: localTime(UPDATED) }]))))).toHaveLength(1)
    expect(events(canal.decode(bytes(message('UPDATE', [now], [{ customer_address: 'old address' }]))))).toHaveLength(0)
  })

  it('a bad row rejects the whole message with the row index in the path', () => {
    const good = { ...canalRow(orderRow), updated_at: localTime(UPDATED) }
    const e = error(canal.decode(bytes(message('INSERT', [good, { ...good, total_amount: 'abc' }]))))
    expect([e.code, e.path]).toEqual([DecodeErrorCode.CDC_COLUMN, 'data.1.total_amount'])
  })
})

describe('decimalToCents converts money exactly', () => {
  it.each([
    ['0', 0],
    ['0.5', 50],
    ['12.30', 1230],
    ['12.300', 1230],
    ['-3.07', -307],
    ['90071992547409.91', 9007199254740991],
  ])('%s → %d cents', (s, cents) => expect(decimalToCents(s, 'c')).toBe(cents))

  it('refuses fractions of a cent and non-decimals', () => {
    expect(() => decimalToCents('1.005', 'c')).toThrow(/fractions of a cent/)
    expect(() => decimalToCents('1e3', 'c')).toThrow()
    expect(() => decimalToCents(0.305, 'c')).toThrow(/fractions of a cent/)
    // A double that only misrepresents whole cents (0.1 + 0.2) converts to the cents it means.
    expect(decimalToCents(0.1 + 0.2, 'c')).toBe(30)
  })
})

import { DecodeErrorCode, fail, ok, type DecodeResult } from '../errors.js'
import type { EventType, TypedEvent } from '../events.js'
import { validateEvent, type TimeBounds } from '../validate.js'

/*
 * Maps rows of the OLTP `orders` and `inventory` tables (as captured by Debezium or Canal) to
 * streamcube events. Column layout (README "CDC sources"):
 *   orders(order_id, status, user_id, community_id, leader_id, total_amount DECIMAL(12,2),
 *          refund_amount DECIMAL(12,2) NULL, complaint_reason NULL, delivery_lat, delivery_lon,
 *          customer_name, customer_phone, customer_address, lines JSON, updated_at DATETIME(3))
 *   inventory(warehouse_id, community_id, sku, batch_id, qty, production_date DATE,
 *             expiry_date DATE, updated_at DATETIME(3))
 *
 * Event ids derive from the row's state, not from the log position, so the same state read twice
 * (a connector's replay after a restart, a re-snapshot) is the same event and counted once:
 *   - an order's lifecycle step is the status it reaches: `cdc:orders:<order_id>:<status>`. Its
 *     updated_at is not part of the id, because an address edit moves updated_at without a new
 *     step, and a later re-snapshot of that row must not count the status again;
 *   - an inventory row's state is its key, quantity and updated_at (not the kind: a re-snapshot
 *     of a row only inserted reads as its receipt, of a row updated as its stocktake).
 */

export type Row = Readonly<Record<string, unknown>>
export const RowChange = { insert: 'insert', update: 'update', delete: 'delete', snapshot: 'snapshot' } as const
export type RowChange = (typeof RowChange)[keyof typeof RowChange]

/** Column types CDC tools announce in their schemas, where they say. */
export interface ColumnHints {
  /** Debezium semantic type names by column (io.debezium.time.Date, org.apache.kafka.connect.data.Decimal…). */
  readonly semantic?: Readonly<Record<string, string>>
  /** Decimal scale by column (Debezium `parameters.scale`). */
  readonly scale?: Readonly<Record<string, number>>
}

export interface RowContext {
  readonly change: RowChange
  readonly before: Row | null
  readonly after: Row | null
  /** Columns changed by an update, when the format says (Canal's `old`); null means unknown. */
  readonly changedColumns: ReadonlySet<string> | null
  /** Commit time of the change in the source database (ms). */
  readonly sourceTime: number
  readonly hints: ColumnHints
  /** Offset of the source database's local time from UTC, for zone-less DATETIME strings. */
  readonly tzOffsetMinutes: number
  readonly bounds: TimeBounds
}

class ColumnError extends Error {
  constructor(readonly column: string, message: string) {
    super(message)
  }
}

function col(row: Row, name: string): unknown {
  const v = row[name]
  return v === undefined ? null : v
}

function requireCol(row: Row, name: string): unknown {
  const v = col(row, name)
  if (v === null) throw new ColumnError(name, 'required column is null or missing')
  return v
}

function text(row: Row, name: string): string {
  const v = requireCol(row, name)
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'bigint') return String(v)
  throw new ColumnError(name, `expected text, got ${typeof v}`)
}

function optText(row: Row, name: string): string | null {
  return col(row, name) === null ? null : text(row, name)
}

function num(row: Row, name: string): number {
  const v = requireCol(row, name)
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN
  if (!Number.isFinite(n)) throw new ColumnError(name, `expected a number, got ${JSON.stringify(v)}`)
  return n
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/

/**
 * Decimal column → integer cents, exactly. Accepts decimal strings ("12.30"), Debezium's binary
 * `precise` form (base64 two's complement with the scale from the schema) and integers; refuses
 * binary floats with more than two decimals instead of rounding money.
 */
export function decimalToCents(value: unknown, column: string, scale?: number): number {
  if (typeof value === 'string') {
    const m = DECIMAL.exec(value.trim())
    if (m) {
      const frac = (m[3] ?? '').padEnd(2, '0')
      if (frac.length > 2 && /[1-9]/.test(frac.slice(2))) throw new ColumnError(column, `${value} has fractions of a cent`)
      const cents = Number(m[2]) * 100 + Number(frac.slice(0, 2))
      if (!Number.isSafeInteger(cents)) throw new ColumnError(column, `${value} is out of range`)
      return m[1] ? -cents : cents
    }
    if (scale !== undefined) return bytesDecimalToCents(Buffer.from(value, 'base64'), scale, column)
    throw new ColumnError(column, `${JSON.stringify(value)} is not a decimal; use decimal.handling.mode=string or send the schema`)
  }
  if (typeof value === 'number' && Number.isFinite(value)) {
    const cents = Math.round(value * 100)
    if (Math.abs(cents - value * 100) > 1e-6) throw new ColumnError(column, `${value} has fractions of a cent`)
    return cents
  }
  throw new ColumnError(column, `expected a decimal, got ${JSON.stringify(value)}`)
}

function bytesDecimalToCents(bytes: Buffer, scale: number, column: string): number {
  if (bytes.length === 0) throw new ColumnError(column, 'empty decimal bytes')
  let unscaled = 0n
  for (const b of bytes) unscaled = (unscaled << 8n) | BigInt(b)
  if ((bytes[0] ?? 0) & 0x80) unscaled -= 1n << BigInt(bytes.length * 8)
  const factor = 10n ** BigInt(Math.abs(scale - 2))
  let cents: bigint
  if (scale >= 2) {
    if (unscaled % factor !== 0n) throw new ColumnError(column, 'has fractions of a cent')
    cents = unscaled / factor
  } else cents = unscaled * factor
  return Number(cents)
}

function money(row: Row, name: string, ctx: RowContext): number {
  return decimalToCents(requireCol(row, name), name, ctx.hints.scale?.[name])
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/

/** A time column → epoch ms: Debezium numeric time types by their semantic name or magnitude, or a DATETIME string. */
function timeMs(row: Row, name: string, ctx: RowContext): number {
  const v = requireCol(row, name)
  const semantic = ctx.hints.semantic?.[name]
  if (typeof v === 'number') {
    if (semantic === 'io.debezium.time.MicroTimestamp') return Math.floor(v / 1000)
    if (semantic === 'io.debezium.time.NanoTimestamp') return Math.floor(v / 1e6)
    if (semantic === 'io.debezium.time.Timestamp') return v
    if (v > 1e17) return Math.floor(v / 1e6)
    if (v > 1e14) return Math.floor(v / 1000)
    return v
  }
  if (typeof v === 'string') {
    const m = DATETIME.exec(v.trim())
    if (m) {
      const [, y, mo, d, h, mi, s, frac, zone] = m
      const ms = Number((frac ?? '').padEnd(3, '0').slice(0, 3))
      const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms)
      if (zone === undefined) return utc - ctx.tzOffsetMinutes * 60_000
      if (zone === 'Z') return utc
      const sign = zone.startsWith('-') ? -1 : 1
      const digits = zone.slice(1).replace(':', '')
      return utc - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000
    }
    if (/^\d+$/.test(v)) return Number(v)
  }
  throw new ColumnError(name, `expected a time, got ${JSON.stringify(v)}`)
}

/** A DATE column → YYYY-MM-DD: Debezium's days-since-epoch, a date string, or a timestamp. */
function dateStr(row: Row, name: string, ctx: RowContext): string | null {
  const v = col(row, name)
  if (v === null) return null
  if (typeof v === 'number') {
    const ms = Math.abs(v) < 1e6 ? v * 86_400_000 : timeMs(row, name, ctx)
    return new Date(ms).toISOString().slice(0, 10)
  }
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)) return v.slice(0, 10)
  throw new ColumnError(name, `expected a date, got ${JSON.stringify(v)}`)
}

interface LineRow {
  sku?: unknown
  category_id?: unknown
  qty?: unknown
  unit_price?: unknown
}

function orderLines(row: Row): unknown[] {
  const raw = requireCol(row, 'lines')
  let lines: unknown
  try {
    lines = typeof raw === 'string' ? JSON.parse(raw) : raw
  } catch {
    throw new ColumnError('lines', 'is not valid JSON')
  }
  if (!Array.isArray(lines)) throw new ColumnError('lines', 'expected a JSON array of order lines')
  return lines.map((l: LineRow, i) => ({
    sku: typeof l.sku === 'string' ? l.sku : String(l.sku),
    categoryId: typeof l.category_id === 'string' ? l.category_id : String(l.category_id),
    qty: typeof l.qty === 'string' ? Number(l.qty) : l.qty,
    unitPriceCents: decimalToCents(l.unit_price, `lines.${i}.unit_price`),
  }))
}

function mapOrders(ctx: RowContext): TypedEvent['event'] | null {
  // A deleted order row is housekeeping in the source system, not a lifecycle step.
  if (ctx.change === 'delete' || !ctx.after) return null
  const row = ctx.after
  const status = text(row, 'status')
  // An update that did not change the status (an address edit, say) is not a lifecycle step.
  if (ctx.change === 'update') {
    const changed = ctx.changedColumns ? ctx.changedColumns.has('status') : ctx.before === null || col(ctx.before, 'status') !== status
    if (!changed) return null
  }
  const updatedAt = timeMs(row, 'updated_at', ctx)
  const orderId = text(row, 'order_id')
  return {
    eventId: `cdc:orders:${orderId}:${status}`,
    eventTime: updatedAt,
    orderId,
    status,
    userId: text(row, 'user_id'),
    communityId: text(row, 'community_id'),
    leaderId: text(row, 'leader_id'),
    lines: orderLines(row),
    amountCents: money(row, 'total_amount', ctx),
    refundCents: col(row, 'refund_amount') === null ? null : money(row, 'refund_amount', ctx),
    complaintReason: optText(row, 'complaint_reason'),
    deliveryLat: num(row, 'delivery_lat'),
    deliveryLon: num(row, 'delivery_lon'),
    customer: { name: text(row, 'customer_name'), phone: text(row, 'customer_phone'), address: text(row, 'customer_address') },
  } as TypedEvent['event']
}

function mapInventory(ctx: RowContext): TypedEvent['event'] | null {
  const row = ctx.change === 'delete' ? ctx.before : ctx.after
  if (!row) return null
  // insert = a batch arrives; update = the counted quantity now; delete = nothing left. A
  // snapshot row is stock that is there: a receipt (of a row seen before, the same event again).
  const kind = ctx.change === 'insert' || ctx.change === 'snapshot' ? 'receipt' : 'stocktake'
  const qty = ctx.change === 'delete' ? 0 : num(row, 'qty')
  const updatedAt = ctx.change === 'delete' ? ctx.sourceTime : timeMs(row, 'updated_at', ctx)
  const warehouseId = text(row, 'warehouse_id')
  const sku = text(row, 'sku')
  const batchId = optText(row, 'batch_id')
  return {
    eventId: `cdc:inventory:${warehouseId}:${sku}:${batchId ?? '-'}:${qty}:${updatedAt}`,
    eventTime: updatedAt,
    kind,
    warehouseId,
    communityId: text(row, 'community_id'),
    sku,
    batchId,
    qty,
    productionDate: dateStr(row, 'production_date', ctx),
    expiryDate: dateStr(row, 'expiry_date', ctx),
    lossReason: null,
    orderId: null,
  } as TypedEvent['event']
}

/** Which mapper serves a source table, by the table's name. */
export interface CdcTables {
  readonly orders: string
  readonly inventory: string
}
export const DEFAULT_CDC_TABLES: CdcTables = Object.freeze({ orders: 'orders', inventory: 'inventory' })

/** The streams a CDC table can feed. */
export type CdcStream = Extract<EventType, 'order' | 'inventory'>
export const CDC_STREAMS: readonly CdcStream[] = ['order', 'inventory']

/**
 * Maps one changed row to at most one event, validated like any other event. With `stream` (a
 * source spec says which stream the topic feeds) every table maps to that stream's events, whatever
 * its name; without it, the table's name picks the mapper.
 */
export function mapRow(table: string, tables: CdcTables, ctx: RowContext, stream?: CdcStream): DecodeResult<TypedEvent | null> {
  let type: EventType
  let mapper: (c: RowContext) => TypedEvent['event'] | null
  if (stream === 'order' || (stream === undefined && table === tables.orders)) [type, mapper] = ['order', mapOrders]
  else if (stream === 'inventory' || (stream === undefined && table === tables.inventory)) [type, mapper] = ['inventory', mapInventory]
  else return fail(DecodeErrorCode.CDC_UNKNOWN_TABLE, `table ${JSON.stringify(table)} is not mapped (expected ${tables.orders} or ${tables.inventory})`, 'source.table')
  let event: TypedEvent['event'] | null
  try {
    event = mapper(ctx)
  } catch (err) {
    if (err instanceof ColumnError) return fail(DecodeErrorCode.CDC_COLUMN, err.message, err.column)
    return fail(DecodeErrorCode.CDC_COLUMN, (err as Error).message)
  }
  if (event === null) return ok(null)
  return validateEvent(type, event, ctx.bounds)
}

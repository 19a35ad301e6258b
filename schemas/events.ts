import { z } from 'zod'

/*
 * The event contracts. These zod schemas are the single source of the TypeScript types; the Avro
 * schemas in schemas/avro/*.avsc describe the same records on the wire, and
 * tests/unit/schemas/avro-parity.test.ts holds every field of the two equal.
 *
 * Conventions:
 * - times are integer epoch milliseconds (`eventTime`); calendar dates are `YYYY-MM-DD` strings;
 * - money is integer cents (never binary floats); CDC codecs convert decimal strings exactly;
 * - optional fields are nullable with a null default, matching Avro's ["null", T] unions;
 * - unknown fields are stripped, not rejected, so producers can add fields before consumers know them.
 */

const id = z.string().min(1).max(128)
const cents = z.int().min(0)
const latitude = z.number().min(-90).max(90)
const longitude = z.number().min(-180).max(180)
const optional = <T extends z.ZodType>(schema: T) => schema.nullable().default(null)

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`)
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s)
  }, 'not a calendar date')

/** Epoch milliseconds; the unit and range are checked in validate.ts with a clock. */
const epochMillis = z.int()

export const BehaviourAction = ['view', 'search', 'cart_add', 'cart_remove', 'favourite', 'share'] as const
export type BehaviourAction = (typeof BehaviourAction)[number]
export const Device = ['ios', 'android', 'web', 'mini_program'] as const
export const Channel = ['app', 'mini_program', 'h5', 'group_chat'] as const

export const BehaviourEventSchema = z
  .object({
    eventId: id,
    eventTime: epochMillis,
    action: z.enum(BehaviourAction),
    userId: id,
    communityId: id,
    sku: optional(id),
    query: optional(z.string().min(1).max(256)),
    sessionId: id,
    device: z.enum(Device),
    channel: z.enum(Channel),
    lat: optional(latitude),
    lon: optional(longitude),
  })
  .superRefine((e, ctx) => behaviourRules(e, ctx))
export type BehaviourEvent = z.output<typeof BehaviourEventSchema>

/**
 * Each event type's rules across fields, as functions of their own: the schemas run them through
 * superRefine, and the JSON fast path (codecs/json-scan.ts) calls them on its view of a record.
 */
function behaviourRules(e: BehaviourEvent, ctx: RulesContext): void {
  if (e.action === 'search' && e.query === null) ctx.addIssue({ code: 'custom', path: ['query'], message: 'a search event needs a query' })
  if (e.action !== 'search' && e.sku === null) ctx.addIssue({ code: 'custom', path: ['sku'], message: `a ${e.action} event needs a sku` })
  if ((e.lat === null) !== (e.lon === null)) ctx.addIssue({ code: 'custom', path: [e.lat === null ? 'lat' : 'lon'], message: 'lat and lon come together or not at all' })
}

/** What the rules need of superRefine's context: a way to report an issue. */
export interface RulesContext {
  addIssue(issue: { code: 'custom'; path: (string | number)[]; message: string }): void
}

export const OrderStatus = ['created', 'paid', 'accepted', 'sorted', 'out_for_delivery', 'delivered', 'cancelled', 'refunded', 'complaint'] as const
export type OrderStatus = (typeof OrderStatus)[number]
export const ComplaintReason = ['quality', 'missing_item', 'wrong_item', 'damaged', 'late_delivery', 'service', 'other'] as const
export type ComplaintReason = (typeof ComplaintReason)[number]

export const OrderLineSchema = z.object({
  sku: id,
  categoryId: id,
  qty: z.int().min(1).max(10_000),
  unitPriceCents: cents,
})
export type OrderLine = z.output<typeof OrderLineSchema>

/** Personal data: masked by the API unless the caller's role allows it. */
export const CustomerSchema = z.object({
  name: z.string().min(1).max(256),
  phone: z.string().min(3).max(32),
  address: z.string().min(1).max(512),
})
export type Customer = z.output<typeof CustomerSchema>

export const OrderEventSchema = z
  .object({
    eventId: id,
    eventTime: epochMillis,
    orderId: id,
    status: z.enum(OrderStatus),
    userId: id,
    communityId: id,
    leaderId: id,
    lines: z.array(OrderLineSchema).min(1).max(500),
    amountCents: cents,
    refundCents: optional(cents),
    complaintReason: optional(z.enum(ComplaintReason)),
    deliveryLat: latitude,
    deliveryLon: longitude,
    customer: CustomerSchema,
  })
  .superRefine((e, ctx) => orderRules(e, ctx))
export type OrderEvent = z.output<typeof OrderEventSchema>

function orderRules(e: OrderEvent, ctx: RulesContext): void {
  if (e.status === 'refunded' && (e.refundCents === null || e.refundCents === 0)) ctx.addIssue({ code: 'custom', path: ['refundCents'], message: 'a refunded event needs refundCents > 0' })
  if (e.refundCents !== null && e.refundCents > e.amountCents) ctx.addIssue({ code: 'custom', path: ['refundCents'], message: 'refundCents exceeds amountCents' })
  if (e.status === 'complaint' && e.complaintReason === null) ctx.addIssue({ code: 'custom', path: ['complaintReason'], message: 'a complaint event needs a complaintReason' })
}

export const InventoryKind = ['receipt', 'sale', 'loss', 'stocktake'] as const
export type InventoryKind = (typeof InventoryKind)[number]
export const LossReason = ['spoiled', 'damaged', 'expired', 'theft', 'other'] as const

export const InventoryEventSchema = z
  .object({
    eventId: id,
    eventTime: epochMillis,
    kind: z.enum(InventoryKind),
    warehouseId: id,
    communityId: id,
    sku: id,
    batchId: optional(id),
    /** receipt/sale/loss: the quantity moved (> 0); stocktake: the counted quantity on hand (>= 0). */
    qty: z.int().min(0).max(10_000_000),
    productionDate: optional(isoDate),
    expiryDate: optional(isoDate),
    lossReason: optional(z.enum(LossReason)),
    orderId: optional(id),
  })
  .superRefine((e, ctx) => inventoryRules(e, ctx))
export type InventoryEvent = z.output<typeof InventoryEventSchema>

function inventoryRules(e: InventoryEvent, ctx: RulesContext): void {
  if (e.kind !== 'stocktake' && e.qty === 0) ctx.addIssue({ code: 'custom', path: ['qty'], message: `a ${e.kind} moves a positive quantity` })
  if (e.kind === 'receipt') {
    for (const f of ['batchId', 'productionDate', 'expiryDate'] as const) {
      if (e[f] === null) ctx.addIssue({ code: 'custom', path: [f], message: `a receipt needs ${f}` })
    }
    if (e.productionDate !== null && e.expiryDate !== null && e.expiryDate < e.productionDate) {
      ctx.addIssue({ code: 'custom', path: ['expiryDate'], message: 'expiryDate is before productionDate' })
    }
  }
  if (e.kind === 'loss' && e.lossReason === null) ctx.addIssue({ code: 'custom', path: ['lossReason'], message: 'a loss needs a lossReason' })
}

/** The three event types, the topic each travels on (after the prefix) and its Avro record name. */
export const EventTypes = {
  behaviour: { schema: BehaviourEventSchema, rules: behaviourRules, topic: 'behaviour', avroName: 'streamcube.BehaviourEvent' },
  order: { schema: OrderEventSchema, rules: orderRules, topic: 'orders', avroName: 'streamcube.OrderEvent' },
  inventory: { schema: InventoryEventSchema, rules: inventoryRules, topic: 'inventory', avroName: 'streamcube.InventoryEvent' },
} as const
export type EventType = keyof typeof EventTypes
export const EVENT_TYPES = Object.keys(EventTypes) as EventType[]

export type EventOf<T extends EventType> = T extends 'behaviour' ? BehaviourEvent : T extends 'order' ? OrderEvent : InventoryEvent

/** An event together with its type: what every codec produces. */
export type TypedEvent =
  | { readonly type: 'behaviour'; readonly event: BehaviourEvent }
  | { readonly type: 'order'; readonly event: OrderEvent }
  | { readonly type: 'inventory'; readonly event: InventoryEvent }

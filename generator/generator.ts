import type {
  BehaviourEvent,
  ComplaintReason,
  OrderEvent,
  OrderLine,
  OrderStatus,
} from '../schemas/index.js'
import { TimeHeap } from './heap.js'
import { Random, WeightedPicker } from './random.js'
import { activityAt, MAX_ACTIVITY, nextLocalTime } from './rhythm.js'
import { DEFAULT_GENERATOR_OPTIONS, type GeneratedRecord, type GeneratorOptions } from './options.js'
import { buildWorld, type Community, type Resident, type Sku, type World } from './world.js'
import { Warehouses } from './warehouses.js'

export { DEFAULT_GENERATOR_OPTIONS } from './options.js'
export type { GeneratedRecord, GeneratorOptions, OpeningBatch } from './options.js'

const COMPLAINTS = new WeightedPicker<ComplaintReason>(
  ['quality', 'missing_item', 'wrong_item', 'damaged', 'late_delivery', 'service', 'other'],
  [30, 18, 10, 12, 20, 6, 4],
)
const DEVICES = new WeightedPicker(['ios', 'android', 'web', 'mini_program'] as const, [30, 35, 5, 30])
const CHANNELS = new WeightedPicker(['app', 'mini_program', 'h5', 'group_chat'] as const, [35, 40, 5, 20])

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

/**
 * A deterministic simulation of a city's neighbourhood commerce. Iterating it yields records in
 * event-time order: shopping sessions (search → views → cart → order), order lifecycles
 * (paid → accepted → sorted → out for delivery → delivered, with cancels, refunds, complaints),
 * and inventory (receipts with expiry batches, FIFO sale deductions, expiry losses, stocktakes).
 * The same options give the same records, byte for byte.
 */
export class EventGenerator implements Iterable<GeneratedRecord> {
  readonly world: World
  readonly options: GeneratorOptions
  private readonly demandPeak: number
  private readonly random: Random
  private readonly heap = new TimeHeap<() => void>()
  private readonly out: GeneratedRecord[] = []
  private readonly warehouses: Warehouses
  private counter = 0
  private orderCounter = 0
  /** What every id names: the seed, and the run if it has a name. */
  private readonly idTag: string
  /** The event time of the last record handed out. */
  clock: number

  constructor(options: Partial<GeneratorOptions> & { start: number }) {
    this.options = { ...DEFAULT_GENERATOR_OPTIONS, ...options }
    this.demandPeak = EventGenerator.demandPeak(this.options.demand)
    this.random = new Random(this.options.seed)
    this.world = buildWorld(this.random, this.options)
    this.clock = this.options.start
    this.idTag = this.options.run ? `${this.options.seed.toString(36)}.${this.options.run}` : this.options.seed.toString(36)
    this.warehouses = new Warehouses({
      random: this.random,
      tzOffsetMinutes: this.options.tzOffsetMinutes,
      idTag: this.idTag,
      eventId: (prefix) => this.eventId(prefix),
      emit: (record) => this.emit(record),
      at: (time, record) => this.at(time, record),
    })
    const start = this.options.start
    const opening = this.options.openingStock
    for (const community of this.world.communities) {
      for (const sku of community.stocked) {
        const s = this.warehouses.stock(community, sku, 2 + this.random.next() * 3)
        if (!opening) this.heap.push(start, () => this.warehouses.receive(s, start, this.warehouses.target(s)))
      }
    }
    for (const b of opening ?? []) this.warehouses.open(b)
    for (const [n, p] of (this.options.overstock ?? []).entries()) {
      const community = this.world.communities.find((c) => c.communityId === p.communityId)
      const sku = p.sku ?? community?.stocked[0]?.sku
      const s = community && sku !== undefined ? this.warehouses.get(community.warehouseId, sku) : undefined
      if (!s) throw new Error(`overstock ${n}: community ${p.communityId} does not stock ${sku ?? 'any sku'}`)
      this.heap.push(Math.max(start, p.at), () => this.warehouses.receivePlanted(s, Math.max(start, p.at), `planted-${n}`, p.qty, p.expiresInDays))
    }
    this.heap.push(start, () => this.arrival(start))
    this.heap.push(nextLocalTime(start, this.options.tzOffsetMinutes, 6), () => this.morning())
    this.heap.push(nextLocalTime(start, this.options.tzOffsetMinutes, 23), () => this.night())
  }

  /** The next record, in event-time order. The simulation never ends. */
  next(): GeneratedRecord {
    while (this.out.length === 0) {
      const entry = this.heap.pop()
      if (!entry) throw new Error('generator heap ran dry') // unreachable: arrivals always reschedule
      this.clock = entry.time
      entry.item()
    }
    // Records of one task are queued in order; shift from the front.
    return this.out.shift() as GeneratedRecord
  }

  /** The next `n` records. */
  take(n: number): GeneratedRecord[] {
    const records: GeneratedRecord[] = []
    for (let i = 0; i < n; i++) records.push(this.next())
    return records
  }

  *[Symbol.iterator](): Iterator<GeneratedRecord> {
    for (;;) yield this.next()
  }

  private eventId(prefix: string): string {
    return `${prefix}-${this.idTag}-${(this.counter++).toString(36)}`
  }

  private emit(record: GeneratedRecord): void {
    this.out.push(record)
  }

  private at(time: number, record: GeneratedRecord): void {
    this.heap.push(time, () => this.emit(record))
  }

  // --- shopping sessions ------------------------------------------------------------------

  /** The largest planted demand factor over the planted horizon (`days`, default 400). */
  private static demandPeak(d: GeneratorOptions['demand']): number {
    if (!d) return 1
    const weekly = d.weekly ? Math.max(...d.weekly) : 1
    return weekly * (1 + Math.max(0, d.growthPerDay ?? 0) * (d.days ?? 400))
  }

  /** The planted demand factor at a time: weekday factor × trend. */
  private demandAt(now: number): number {
    const d = this.options.demand
    if (!d) return 1
    const weekday = new Date(now + this.options.tzOffsetMinutes * 60_000).getUTCDay()
    const growth = 1 + (d.growthPerDay ?? 0) * Math.max(0, (now - this.options.start) / 86_400_000)
    return (d.weekly?.[weekday] ?? 1) * Math.max(0, growth)
  }

  /** Poisson arrivals with a time-varying rate, by thinning against the peak rate. */
  private arrival(now: number): void {
    const { sessionsPerMinute, tzOffsetMinutes } = this.options
    // Thinning against the peak of the rhythm times the planted demand (both 1 when none is planted).
    const peak = MAX_ACTIVITY * this.demandPeak
    if (this.random.next() * peak < activityAt(now, tzOffsetMinutes) * this.demandAt(now)) this.session(now)
    const peakMean = MINUTE / (sessionsPerMinute * peak)
    const next = now + Math.max(1, Math.round(this.random.exponential(peakMean)))
    this.heap.push(next, () => this.arrival(next))
  }

  /** True while a planted silence holds the community (GeneratorOptions.silent). */
  private silentAt(communityId: string, time: number): boolean {
    return this.options.silent?.some((s) => s.communityId === communityId && time >= s.from && (s.to === undefined || time < s.to)) ?? false
  }

  private session(start: number): void {
    const r = this.random
    const community = this.world.communityPicker.pick(r)
    if (this.silentAt(community.communityId, start)) return
    this.sessionIn(community, start)
    // A planted campaign draws (1 + uplift) times the community's sessions while it runs.
    const campaign = this.options.campaign?.find((c) => c.communityId === community.communityId && start >= c.from && start < c.to)
    if (!campaign) return
    const extra = Math.floor(campaign.uplift) + (r.chance(campaign.uplift - Math.floor(campaign.uplift)) ? 1 : 0)
    for (let i = 0; i < extra; i++) this.sessionIn(community, start)
  }

  private sessionIn(community: Community, start: number): void {
    const r = this.random
    const resident = community.residentPicker.pick(r)
    const device = DEVICES.pick(r)
    const channel = device === 'mini_program' ? 'mini_program' : CHANNELS.pick(r)
    const sessionId = this.eventId('s')
    const located = r.chance(0.7)
    let t = start
    const base = (action: BehaviourEvent['action'], sku: string | null, query: string | null): GeneratedRecord => {
      const event: BehaviourEvent = {
        eventId: this.eventId('b'),
        eventTime: t,
        action,
        userId: resident.userId,
        communityId: community.communityId,
        sku,
        query,
        sessionId,
        device,
        channel,
        lat: located ? round6(resident.lat) : null,
        lon: located ? round6(resident.lon) : null,
      }
      return { type: 'behaviour', key: resident.userId, event: { type: 'behaviour', event } }
    }
    let focus: string | null = null
    if (r.chance(0.3)) {
      focus = community.skuPicker.pick(r).category.id
      this.at(t, base('search', null, focus.replace('_', ' ')))
      t += Math.round(r.exponential(8 * SECOND)) + SECOND
    }
    const cart: Sku[] = []
    const views = 1 + Math.floor(r.exponential(2.5))
    for (let i = 0; i < views; i++) {
      let sku = community.skuPicker.pick(r)
      if (focus !== null && sku.category.id !== focus) sku = community.skuPicker.pick(r)
      this.at(t, base('view', sku.sku, null))
      t += Math.round(r.exponential(20 * SECOND)) + SECOND
      if (r.chance(0.3)) {
        cart.push(sku)
        this.at(t, base('cart_add', sku.sku, null))
        t += Math.round(r.exponential(10 * SECOND)) + SECOND
      }
      if (r.chance(0.04)) this.at(t, base('favourite', sku.sku, null))
      if (r.chance(0.03)) this.at(t, base('share', sku.sku, null))
    }
    if (cart.length > 1 && r.chance(0.15)) {
      const removed = cart.splice(r.int(0, cart.length - 1), 1)[0] as Sku
      this.at(t, base('cart_remove', removed.sku, null))
      t += Math.round(r.exponential(5 * SECOND)) + SECOND
    }
    if (cart.length > 0 && r.chance(0.55)) {
      const orderAt = t + Math.round(r.exponential(30 * SECOND)) + SECOND
      this.heap.push(orderAt, () => this.order(orderAt, community, resident, cart))
    }
  }

  // --- order lifecycles -------------------------------------------------------------------

  private order(created: number, community: Community, resident: Resident, cart: readonly Sku[]): void {
    // A session that began before its community fell silent places no order after.
    if (this.silentAt(community.communityId, created)) return
    const r = this.random
    const merged = new Map<string, OrderLine>()
    for (const sku of cart) {
      const line = merged.get(sku.sku)
      const qty = r.chance(0.75) ? 1 : r.int(2, 4)
      merged.set(sku.sku, { sku: sku.sku, categoryId: sku.category.id, qty: (line?.qty ?? 0) + qty, unitPriceCents: sku.priceCents })
    }
    const lines = [...merged.values()]
    // Now and then an order carries a sku on two lines, as a second price tier or a promotion line
    // does: chosen by the order's number, so the random stream, and every other event, stays as it was.
    if (this.orderCounter % SECOND_LINE_EVERY === SECOND_LINE_EVERY - 1) addSecondPriceLine(lines)
    const amountCents = lines.reduce((sum, l) => sum + l.qty * l.unitPriceCents, 0)
    const leader = r.pick(community.leaders)
    const orderId = `o-${this.idTag}-${(this.orderCounter++).toString(36)}`
    const snapshot = (status: OrderStatus, time: number, extra: Partial<OrderEvent> = {}): GeneratedRecord => {
      const event: OrderEvent = {
        eventId: this.eventId('o'),
        eventTime: time,
        orderId,
        status,
        userId: resident.userId,
        communityId: community.communityId,
        leaderId: leader.leaderId,
        lines,
        amountCents,
        refundCents: null,
        complaintReason: null,
        deliveryLat: round6(resident.lat),
        deliveryLon: round6(resident.lon),
        customer: { name: resident.name, phone: resident.phone, address: resident.address },
        ...extra,
      }
      return { type: 'order', key: orderId, event: { type: 'order', event } }
    }
    this.emit(snapshot('created', created))
    if (!r.chance(0.93)) {
      // Never paid: the unpaid order times out.
      const cancelled = created + Math.round(r.uniform(5, 30) * MINUTE)
      this.at(cancelled, snapshot('cancelled', cancelled))
      return
    }
    const paid = created + Math.round(r.uniform(10, 120) * SECOND)
    this.heap.push(paid, () => {
      this.emit(snapshot('paid', paid))
      this.warehouses.sell(paid, community, orderId, lines)
    })
    if (r.chance(0.02)) {
      const cancelled = paid + Math.round(r.uniform(1, 20) * MINUTE)
      this.at(cancelled, snapshot('cancelled', cancelled))
      return
    }
    const slow = leader.slowness
    const accepted = paid + Math.round(r.logNormal(15 * MINUTE, 0.6) * slow)
    const sorted = accepted + Math.round(r.logNormal(60 * MINUTE, 0.5) * slow)
    const outForDelivery = sorted + Math.round(r.logNormal(20 * MINUTE, 0.5) * slow)
    const delivered = outForDelivery + Math.round(r.logNormal(30 * MINUTE, 0.6) * slow)
    this.at(accepted, snapshot('accepted', accepted))
    this.at(sorted, snapshot('sorted', sorted))
    this.at(outForDelivery, snapshot('out_for_delivery', outForDelivery))
    this.at(delivered, snapshot('delivered', delivered))
    const late = delivered - paid > 4 * HOUR
    if (r.chance(late ? 0.12 : 0.025)) {
      const at = delivered + Math.round(r.uniform(0.5, 48) * HOUR)
      const fresh = lines.some((l) => l.categoryId === 'vegetables' || l.categoryId === 'seafood' || l.categoryId === 'meat')
      let reason = COMPLAINTS.pick(r)
      if (late && r.chance(0.6)) reason = 'late_delivery'
      else if (fresh && r.chance(0.3)) reason = 'quality'
      this.at(at, snapshot('complaint', at, { complaintReason: reason }))
    }
    if (r.chance(0.02)) {
      const at = delivered + Math.round(r.uniform(1, 24) * HOUR)
      const line = r.pick(lines)
      this.at(at, snapshot('refunded', at, { refundCents: Math.min(amountCents, line.qty * line.unitPriceCents) }))
    }
  }

  // --- inventory --------------------------------------------------------------------------

  /** 06:00 local: the warehouses restock; again tomorrow. */
  private morning(): void {
    this.warehouses.morning(this.clock)
    const next = nextLocalTime(this.clock, this.options.tzOffsetMinutes, 6)
    this.heap.push(next, () => this.morning())
  }

  /** 23:00 local: the warehouses write off and count; again tomorrow. */
  private night(): void {
    this.warehouses.night(this.clock)
    const next = nextLocalTime(this.clock, this.options.tzOffsetMinutes, 23)
    this.heap.push(next, () => this.night())
  }
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6
}

/** One order in this many whose cart allows it gets a second line of a sku (a promotion price). */
const SECOND_LINE_EVERY = 25

/** Moves one unit of the first line with two or more onto a second line of the same sku at 90 % of the price. */
function addSecondPriceLine(lines: OrderLine[]): void {
  const i = lines.findIndex((l) => l.qty >= 2)
  if (i < 0) return
  const line = lines[i] as OrderLine
  lines[i] = { ...line, qty: line.qty - 1 }
  lines.push({ ...line, qty: 1, unitPriceCents: Math.max(1, Math.round(line.unitPriceCents * 0.9)) })
}

import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { activityAt, EventGenerator, HANGZHOU } from '../../../generator/index.js'
import { validateEvent, type BehaviourEvent, type InventoryEvent, type OrderEvent } from '../../../schemas/index.js'
import { BOUNDS, START } from '../fixtures.js'

const hash = (seed: number, n: number) => {
  const h = createHash('sha256')
  for (const r of new EventGenerator({ seed, start: START }).take(n)) h.update(`${r.key}|${JSON.stringify(r.event)}\n`)
  return h.digest('hex')
}

describe('the data generator', () => {
  const records = new EventGenerator({ seed: 11, start: START }).take(60_000)

  it('is deterministic: the same seed gives the same records, another seed others', () => {
    expect(hash(3, 5000)).toBe(hash(3, 5000))
    expect(hash(3, 5000)).not.toBe(hash(4, 5000))
  })

  it('emits valid events in event-time order', () => {
    let last = 0
    for (const r of records) {
      expect(r.event.event.eventTime).toBeGreaterThanOrEqual(last)
      last = r.event.event.eventTime
      const v = validateEvent(r.type, r.event.event, { ...BOUNDS, now: () => last })
      expect(v.ok, v.ok ? '' : v.error.message).toBe(true)
    }
  })

  it('keys records by order id, user id and sku', () => {
    for (const r of records.slice(0, 5000)) {
      const e = r.event.event
      const expected = r.type === 'order' ? (e as OrderEvent).orderId : r.type === 'behaviour' ? (e as BehaviourEvent).userId : (e as InventoryEvent).sku
      expect(r.key).toBe(expected)
    }
  })

  it('now and then puts a sku on two lines of an order (a second price), at a small rate, amounts still the lines\' sum', () => {
    const created = records.filter((r) => r.type === 'order' && (r.event.event as OrderEvent).status === 'created').map((r) => r.event.event as OrderEvent)
    const repeating = created.filter((o) => new Set(o.lines.map((l) => l.sku)).size < o.lines.length)
    expect(repeating.length).toBeGreaterThan(0)
    expect(repeating.length / created.length).toBeLessThan(0.05)
    for (const o of created) expect(o.amountCents).toBe(o.lines.reduce((sum, l) => sum + l.qty * l.unitPriceCents, 0))
    for (const o of repeating) {
      const prices = o.lines.filter((l) => l.sku === o.lines.at(-1)!.sku).map((l) => l.unitPriceCents)
      expect(new Set(prices).size).toBe(2)
    }
  })

  it('plants a silence: the community starts no session and places no order from then on; unset, the same records', () => {
    const from = START + 3 * 3_600_000
    const records = new EventGenerator({ seed: 3, start: START, silent: [{ communityId: 'c-002', from }] }).take(30_000)
    const of = (type: string) => records.filter((r) => r.event.type === type && r.event.event.communityId === 'c-002')
    const sessions = new Map<string, number>()
    for (const r of of('behaviour')) {
      const b = r.event.event as BehaviourEvent
      sessions.set(b.sessionId, Math.min(sessions.get(b.sessionId) ?? Infinity, b.eventTime))
    }
    expect([...sessions.values()].filter((t) => t < from).length).toBeGreaterThan(10)
    expect([...sessions.values()].filter((t) => t >= from)).toEqual([])
    const created = of('order').filter((r) => (r.event.event as OrderEvent).status === 'created').map((r) => r.event.event.eventTime)
    expect(created.filter((t) => t < from).length).toBeGreaterThan(0)
    expect(created.filter((t) => t >= from)).toEqual([])
    // Other communities go on; unset, the generator gives exactly its usual records.
    expect(records.filter((r) => r.event.event.communityId === 'c-001' && r.event.event.eventTime >= from).length).toBeGreaterThan(0)
    const plain = (o: object) => createHash('sha256').update(JSON.stringify(new EventGenerator({ seed: 3, start: START, ...o }).take(5_000))).digest('hex')
    expect(plain({ silent: [] })).toBe(plain({}))
  })

  it('plants a campaign: (1 + uplift) times the community\'s sessions while it runs, the other communities about as they were', () => {
    const from = START + 9 * 3_600_000
    const to = from + 3 * 3_600_000
    const sessions = (o: object, community: string) => {
      const ids = new Set<string>()
      for (const r of new EventGenerator({ seed: 4, start: START, communities: 4, ...o }).take(60_000)) {
        const e = r.event.event as BehaviourEvent
        if (r.event.type === 'behaviour' && e.communityId === community && e.eventTime >= from && e.eventTime < to) ids.add(e.sessionId)
      }
      return ids.size
    }
    const planted = { campaign: [{ communityId: 'c-002', from, to, uplift: 1 }] }
    const ratio = sessions(planted, 'c-002') / sessions({}, 'c-002')
    expect(ratio).toBeGreaterThan(1.7)
    expect(ratio).toBeLessThan(2.3)
    expect(sessions(planted, 'c-001') / sessions({}, 'c-001')).toBeGreaterThan(0.8)
  })

  it('has unique event ids', () => {
    const ids = new Set(records.map((r) => r.event.event.eventId))
    expect(ids.size).toBe(records.length)
  })

  it('runs each order through a plausible lifecycle, in order', () => {
    const rank: Record<string, number> = { created: 0, paid: 1, accepted: 2, sorted: 3, out_for_delivery: 4, delivered: 5 }
    const byOrder = new Map<string, OrderEvent[]>()
    for (const r of records) if (r.type === 'order') byOrder.set(r.key, [...(byOrder.get(r.key) ?? []), r.event.event as OrderEvent])
    let delivered = 0
    for (const events of byOrder.values()) {
      expect(events[0]?.status).toBe('created')
      const steps = events.filter((e) => e.status in rank).map((e) => rank[e.status] as number)
      expect(steps).toEqual([...steps].sort((a, b) => a - b))
      const amounts = new Set(events.map((e) => e.amountCents))
      expect(amounts.size).toBe(1)
      if (events.some((e) => e.status === 'delivered')) delivered++
    }
    expect(delivered / byOrder.size).toBeGreaterThan(0.6)
  })

  it('has a view → cart → order funnel that narrows', () => {
    const count = (pred: (r: (typeof records)[number]) => boolean) => records.filter(pred).length
    const views = count((r) => r.type === 'behaviour' && (r.event.event as BehaviourEvent).action === 'view')
    const carts = count((r) => r.type === 'behaviour' && (r.event.event as BehaviourEvent).action === 'cart_add')
    const orders = count((r) => r.type === 'order' && (r.event.event as OrderEvent).status === 'created')
    expect(carts / views).toBeGreaterThan(0.15)
    expect(carts / views).toBeLessThan(0.5)
    expect(orders / carts).toBeGreaterThan(0.2)
    expect(orders / carts).toBeLessThan(0.8)
  })

  it('follows the daily rhythm: the evening peak is busier than the small hours', () => {
    expect(activityAt(Date.UTC(2026, 10, 16, 12, 30), 480)).toBeGreaterThan(5 * activityAt(Date.UTC(2026, 10, 16, 19, 30), 480))
    const hours = new Array(24).fill(0) as number[]
    for (const r of records) {
      if (r.type !== 'behaviour') continue
      const hour = new Date(r.event.event.eventTime + 8 * 3_600_000).getUTCHours()
      hours[hour] = (hours[hour] ?? 0) + 1
    }
    // The records span the first simulated morning: the 08:00 peak against the 03:00 trough.
    expect(hours[8]).toBeGreaterThan(5 * (hours[3] as number))
  })

  it('places communities and deliveries inside the city', () => {
    const g = new EventGenerator({ seed: 11, start: START })
    for (const c of g.world.communities) {
      expect(c.lat).toBeGreaterThanOrEqual(HANGZHOU.minLat)
      expect(c.lat).toBeLessThanOrEqual(HANGZHOU.maxLat)
      expect(c.lon).toBeGreaterThanOrEqual(HANGZHOU.minLon)
      expect(c.lon).toBeLessThanOrEqual(HANGZHOU.maxLon)
    }
  })

  it('keeps inventory consistent: receipts carry batches with expiry after production, sales follow paid orders', () => {
    const paid = new Set(records.filter((r) => r.type === 'order' && (r.event.event as OrderEvent).status === 'paid').map((r) => r.key))
    let receipts = 0
    let sales = 0
    for (const r of records) {
      if (r.type !== 'inventory') continue
      const e = r.event.event as InventoryEvent
      if (e.kind === 'receipt') {
        receipts++
        expect(e.expiryDate! > e.productionDate!).toBe(true)
      }
      if (e.kind === 'sale') {
        sales++
        expect(paid.has(e.orderId as string)).toBe(true)
      }
    }
    expect(receipts).toBeGreaterThan(0)
    expect(sales).toBeGreaterThan(0)
  })

  it('names a run in every id it makes: two runs of one seed share no event, order or batch id', () => {
    const ids = (run: string) => {
      const out = new Set<string>()
      for (const r of new EventGenerator({ seed: 5, run, start: START }).take(6000)) {
        const e = r.event.event as { eventId: string; orderId?: string; batchId?: string | null }
        out.add(e.eventId)
        if (e.orderId) out.add(e.orderId)
        if (e.batchId) out.add(e.batchId)
      }
      return out
    }
    const a = ids('a')
    const b = ids('b')
    expect([...a].filter((x) => b.has(x))).toEqual([])
  })

  it('starts from an opening stock when given one: no receipt at the start, sales drawn from its batches first', () => {
    const fresh = new EventGenerator({ seed: 5, start: START }).take(6000)
    const batch = fresh.find((r) => r.type === 'inventory' && (r.event.event as InventoryEvent).kind === 'receipt')?.event.event as InventoryEvent
    const opening = [{ warehouseId: batch.warehouseId, sku: batch.sku, batchId: 'on-hand-1', qty: 1_000, productionDate: batch.productionDate as string, expiryDate: batch.expiryDate as string }]
    const resumed = new EventGenerator({ seed: 5, start: START, openingStock: opening }).take(6000)
    const inventory = resumed.filter((r) => r.type === 'inventory').map((r) => r.event.event as InventoryEvent)
    const atStart = inventory.filter((e) => e.kind === 'receipt' && e.eventTime === START)
    expect(atStart).toEqual([])
    const sales = inventory.filter((e) => e.kind === 'sale' && e.warehouseId === batch.warehouseId && e.sku === batch.sku)
    expect(sales.length).toBeGreaterThan(0)
    expect(sales.every((e) => e.batchId === 'on-hand-1')).toBe(true)
  })
})

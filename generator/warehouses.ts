import type { InventoryEvent, OrderLine } from '../schemas/index.js'
import type { GeneratedRecord, OpeningBatch } from './options.js'
import type { Random } from './random.js'
import { addDays, localDate } from './rhythm.js'
import type { Community, Sku } from './world.js'

const MINUTE = 60_000

export interface Batch {
  readonly batchId: string
  qty: number
  readonly productionDate: string
  readonly expiryDate: string
}

/** One community warehouse's stock of one sku. */
export interface Stock {
  readonly community: Community
  readonly sku: Sku
  readonly batches: Batch[]
  soldToday: number
  /** Smoothed daily demand, for reorder decisions. */
  demand: number
}

/** What the warehouses take from the simulation: its random stream and ids, and where their records go. */
export interface WarehouseHost {
  readonly random: Random
  readonly tzOffsetMinutes: number
  /** What every batch id names (the seed, and the run if it has a name). */
  readonly idTag: string
  eventId(prefix: string): string
  /** A record at the simulation's current time. */
  emit(record: GeneratedRecord): void
  /** A record at a later time. */
  at(time: number, record: GeneratedRecord): void
}

/**
 * The city's community warehouses: batches per warehouse and sku with production and expiry
 * dates, received, sold first in first out, written off when they expire or spoil, and counted.
 */
export class Warehouses {
  private readonly bySku = new Map<string, Stock>()
  private batchCounter = 0

  constructor(private readonly host: WarehouseHost) {}

  /** Opens a warehouse's stock of a sku, empty, with its first demand estimate. */
  stock(community: Community, sku: Sku, demand: number): Stock {
    const s: Stock = { community, sku, batches: [], soldToday: 0, demand }
    this.bySku.set(`${community.warehouseId}|${sku.sku}`, s)
    return s
  }

  /** A batch an earlier run left on hand (GeneratorOptions.openingStock): on the shelf, no receipt. Ignored for a sku the warehouse does not stock, or with nothing left. */
  open(b: OpeningBatch): void {
    if (b.qty <= 0) return
    this.get(b.warehouseId, b.sku)?.batches.push({ batchId: b.batchId, qty: b.qty, productionDate: b.productionDate, expiryDate: b.expiryDate })
  }

  get(warehouseId: string, sku: string): Stock | undefined {
    return this.bySku.get(`${warehouseId}|${sku}`)
  }

  /** The stock a restock fills up to: the smoothed demand over the days a delivery covers (2 fresh, 7 other), plus 2. */
  target(s: Stock): number {
    return Math.ceil(s.demand * (s.sku.category.fresh ? 2 : 7)) + 2
  }

  private inventoryRecord(s: Stock, time: number, fields: Omit<InventoryEvent, 'eventId' | 'eventTime' | 'warehouseId' | 'communityId' | 'sku'>): GeneratedRecord {
    const event: InventoryEvent = {
      eventId: this.host.eventId('i'),
      eventTime: time,
      warehouseId: s.community.warehouseId,
      communityId: s.community.communityId,
      sku: s.sku.sku,
      ...fields,
    }
    return { type: 'inventory', key: s.sku.sku, event: { type: 'inventory', event } }
  }

  receive(s: Stock, time: number, qty: number): void {
    const r = this.host.random
    const today = localDate(time, this.host.tzOffsetMinutes)
    const age = s.sku.category.fresh ? r.int(0, 1) : r.int(0, Math.min(60, Math.floor(s.sku.shelfLifeDays / 4)))
    const productionDate = addDays(today, -age)
    this.shelve(s, time, { batchId: `b-${this.host.idTag}-${(this.batchCounter++).toString(36)}`, qty, productionDate, expiryDate: addDays(productionDate, s.sku.shelfLifeDays) })
  }

  /** A planted batch (GeneratorOptions.overstock): produced today, expiring `days` later. */
  receivePlanted(s: Stock, time: number, batchId: string, qty: number, days: number): void {
    const productionDate = localDate(time, this.host.tzOffsetMinutes)
    this.shelve(s, time, { batchId, qty, productionDate, expiryDate: addDays(productionDate, days) })
  }

  /** A received batch: on the shelf, after the older ones, and its receipt recorded. */
  private shelve(s: Stock, time: number, batch: Batch): void {
    s.batches.push(batch)
    this.host.emit(this.inventoryRecord(s, time, { kind: 'receipt', batchId: batch.batchId, qty: batch.qty, productionDate: batch.productionDate, expiryDate: batch.expiryDate, lossReason: null, orderId: null }))
  }

  /** FIFO deduction: the oldest batch first; a shortfall is still recorded (stock went negative). */
  sell(time: number, community: Community, orderId: string, lines: readonly OrderLine[]): void {
    for (const line of lines) {
      const s = this.get(community.warehouseId, line.sku)
      if (!s) continue
      s.soldToday += line.qty
      let remaining = line.qty
      while (remaining > 0) {
        const batch = s.batches[0]
        const take = batch ? Math.min(batch.qty, remaining) : remaining
        this.host.emit(this.inventoryRecord(s, time, { kind: 'sale', batchId: batch?.batchId ?? null, qty: take, productionDate: null, expiryDate: null, lossReason: null, orderId }))
        remaining -= take
        if (!batch) break
        batch.qty -= take
        if (batch.qty === 0) s.batches.shift()
      }
    }
  }

  /** 06:00 local: update demand estimates and restock what runs low. */
  morning(now: number): void {
    for (const s of this.bySku.values()) {
      s.demand = 0.7 * s.demand + 0.3 * s.soldToday
      s.soldToday = 0
      const onHand = s.batches.reduce((sum, b) => sum + b.qty, 0)
      const target = this.target(s)
      if (onHand < target * 0.6) this.receive(s, now, target - onHand)
    }
  }

  /** 23:00 local: write off expired batches, some spoilage, and count a sample of shelves. */
  night(now: number): void {
    const r = this.host.random
    const today = localDate(now, this.host.tzOffsetMinutes)
    for (const s of this.bySku.values()) {
      for (const batch of [...s.batches]) {
        const expired = batch.expiryDate <= today
        const spoiled = !expired && s.sku.category.fresh && batch.qty > 2 && r.chance(0.01)
        if (!expired && !spoiled) continue
        const qty = expired ? batch.qty : r.int(1, Math.max(1, Math.floor(batch.qty / 4)))
        this.host.emit(this.inventoryRecord(s, now, { kind: 'loss', batchId: batch.batchId, qty, productionDate: null, expiryDate: null, lossReason: expired ? 'expired' : 'spoiled', orderId: null }))
        batch.qty -= qty
        if (batch.qty === 0) s.batches.splice(s.batches.indexOf(batch), 1)
      }
      if (r.chance(0.05)) {
        const onHand = s.batches.reduce((sum, b) => sum + b.qty, 0)
        this.host.at(now + 30 * MINUTE, this.inventoryRecord(s, now + 30 * MINUTE, { kind: 'stocktake', batchId: null, qty: onHand, productionDate: null, expiryDate: null, lossReason: null, orderId: null }))
      }
    }
  }
}

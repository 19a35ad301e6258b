import type { EventType, TypedEvent } from '../schemas/index.js'
import { HANGZHOU, type BoundingBox } from './world.js'

/** One generated Kafka record: the topic's event type, the record key and the event. */
export interface GeneratedRecord {
  readonly type: EventType
  readonly key: string
  readonly event: TypedEvent
}

/** A batch on hand when a run starts (GeneratorOptions.openingStock); dates are local YYYY-MM-DD. */
export interface OpeningBatch {
  readonly warehouseId: string
  readonly sku: string
  readonly batchId: string
  readonly qty: number
  readonly productionDate: string
  readonly expiryDate: string
}

export interface GeneratorOptions {
  readonly seed: number
  /**
   * A name for this run, part of every id it makes (events, sessions, orders, batches): runs of
   * one seed whose records meet in the same tables (a demo restarted on its data directory) must
   * not share ids. Unset, the ids name the seed alone.
   */
  readonly run?: string
  /** Simulation start (UTC ms). */
  readonly start: number
  readonly communities: number
  readonly skus: number
  readonly residentsPerCommunity: number
  /** Shopping sessions per minute, city-wide, at the busiest hour. */
  readonly sessionsPerMinute: number
  /** The city's offset from UTC; rhythms follow local time. Default +08:00. */
  readonly tzOffsetMinutes: number
  readonly bbox: BoundingBox
  /**
   * A planted demand pattern (issue 6's restock forecast): shopping sessions are multiplied by
   * `weekly[local weekday]` (Sunday first) and grow by `growthPerDay` (0.01 = +1 % a day, linear
   * from `start`). Unset, the city's own rhythm alone — and the same records as without it.
   */
  readonly demand?: { readonly weekly?: readonly number[]; readonly growthPerDay?: number; readonly days?: number }
  /**
   * Planted silences (issue 22's planted truths): a community whose residents start no session and
   * place no order from `from` (until `to`, or for good) — what a data-quality check or an alert
   * on a silent community must catch. Orders placed before keep their lifecycle; the warehouse
   * keeps its stock movements. Unset, the same records as without it.
   */
  readonly silent?: readonly { readonly communityId: string; readonly from: number; readonly to?: number }[]
  /**
   * Planted overstock: at `at`, the community's warehouse receives `qty` of a sku it stocks (its
   * first, unless `sku` is given) that expires `expiresInDays` later, as batch `planted-<n>` (n its
   * index here) — far more than sells in time, so the expiry warning must flag it.
   */
  /**
   * Planted campaigns: from `from` to `to` the community's residents start (1 + uplift) times as
   * many shopping sessions (and so, in expectation, orders and buyers) — the effect the campaign
   * report must estimate. Unset, the same records as without it.
   */
  readonly campaign?: readonly { readonly communityId: string; readonly from: number; readonly to: number; readonly uplift: number }[]
  readonly overstock?: readonly { readonly communityId: string; readonly sku?: string; readonly at: number; readonly qty: number; readonly expiresInDays: number }[]
  /**
   * Stock already on hand at `start`, oldest batch first per warehouse and sku: what an earlier run
   * left (a resumed demo). Unset, every stocked sku receives a fresh batch at the start; given,
   * the run starts from these batches instead (no receipt: they are in the facts already), and a
   * sku it does not list starts empty until the morning's restock.
   */
  readonly openingStock?: readonly OpeningBatch[]
}

export const DEFAULT_GENERATOR_OPTIONS: Omit<GeneratorOptions, 'start'> = Object.freeze({
  seed: 42,
  communities: 30,
  skus: 150,
  residentsPerCommunity: 150,
  sessionsPerMinute: 40,
  tzOffsetMinutes: 480,
  bbox: HANGZHOU,
})

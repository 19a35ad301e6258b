import type { EventType, TypedEvent } from '../schemas/index.js'
import { HANGZHOU, type BoundingBox } from './world.js'

/** One generated Kafka record: the topic's event type, the record key and the event. */
export interface GeneratedRecord {
  readonly type: EventType
  readonly key: string
  readonly event: TypedEvent
}

export interface GeneratorOptions {
  readonly seed: number
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

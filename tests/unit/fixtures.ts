import { EventGenerator, type GeneratedRecord } from '../../generator/index.js'
import type { BehaviourEvent, InventoryEvent, OrderEvent, TimeBounds } from '../../schemas/index.js'

/** A fixed simulation start (Monday 2026-11-16 00:00 in Hangzhou) and a clock two days later. */
export const START = Date.UTC(2026, 10, 15, 16)
export const NOW = START + 2 * 86_400_000
export const BOUNDS: TimeBounds = { now: () => NOW, maxFutureMs: 86_400_000, minEventTime: Date.UTC(2015, 0, 1) }

export function generated(n: number, seed = 7): GeneratedRecord[] {
  return new EventGenerator({ seed, start: START }).take(n)
}

export function sampleOf<T extends 'behaviour' | 'order' | 'inventory'>(records: GeneratedRecord[], type: T) {
  const r = records.find((x) => x.type === type)
  if (!r) throw new Error(`no ${type} record`)
  return r.event.event as T extends 'behaviour' ? BehaviourEvent : T extends 'order' ? OrderEvent : InventoryEvent
}

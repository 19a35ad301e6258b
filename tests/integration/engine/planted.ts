import { EventGenerator, type GeneratedRecord } from '../../../generator/index.js'
import { jsonEncoder, EventTypes, type EventType } from '../../../schemas/index.js'

/** A record as it will be produced: topic type, key, bytes, and what the test planted in it. */
export interface PlantedRecord {
  readonly type: EventType
  readonly key: string
  readonly value: Buffer
  readonly kind: 'normal' | 'malformed' | 'duplicate' | 'late-ok' | 'too-late'
  readonly eventId: string | null
}

/** The order records among the generator's first `events`, as JSON, nothing planted. */
export function plainOrders(seed: number, start: number, events: number): PlantedRecord[] {
  return new EventGenerator({ seed, start })
    .take(events)
    .filter((r) => r.type === 'order')
    .map((r) => ({ type: r.type, key: r.key, value: jsonEncoder.encode(r.event), kind: 'normal', eventId: r.event.event.eventId }))
}

export interface PlantedStream {
  readonly records: PlantedRecord[]
  readonly malformed: number
  readonly duplicates: number
  readonly tooLate: Set<string>
  readonly lateOk: number
}

function mulberry(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const MALFORMED: ((v: Buffer) => Buffer)[] = [
  (v) => v.subarray(0, Math.max(1, v.length >> 1)), // truncated JSON
  (v) => Buffer.from(v.toString().replace(/"eventTime":(\d+)/, (_, t: string) => `"eventTime":${Math.floor(Number(t) / 1000)}`)), // seconds
  (v) => Buffer.from(v.toString().replace(/"eventId":"[^"]*",/, '')), // missing field
  () => Buffer.from([0xff, 0xfe, 0x00, 0x41]), // not UTF-8
  (v) => Buffer.from(v.toString().replace(/"eventTime":\d+/, '"eventTime":"yesterday"')), // wrong type
]

/**
 * Generated events with planted faults, in produce order: ~1% malformed, ~1.5% out of order but
 * within the allowed lateness, ~0.5% held back far beyond it (too late), ~0.5% sent twice.
 * The expectations are exact because the test knows what it planted.
 */
export function plantedStream(options: { events: number; seed: number; start: number; allowedLatenessMs: number }): PlantedStream {
  const random = mulberry(options.seed)
  const generated: GeneratedRecord[] = new EventGenerator({ seed: options.seed, start: options.start }).take(options.events)
  const records: PlantedRecord[] = []
  // Held-back records, released once event time has moved far enough past them.
  const held: { release: number; record: PlantedRecord }[] = []
  const tooLate = new Set<string>()
  let malformed = 0
  let duplicates = 0
  let lateOk = 0
  const release = (now: number) => {
    for (let i = held.length - 1; i >= 0; i--) {
      const h = held[i]!
      if (h.release <= now) {
        records.push(h.record)
        held.splice(i, 1)
      }
    }
  }
  for (const g of generated) {
    const t = g.event.event.eventTime
    release(t)
    const value = jsonEncoder.encode(g.event)
    const base = { type: g.type, key: g.key, value, eventId: g.event.event.eventId }
    const x = random()
    if (x < 0.01) {
      records.push({ ...base, value: MALFORMED[malformed % MALFORMED.length]!(value), kind: 'malformed', eventId: null })
      malformed++
    } else if (x < 0.025) {
      // Out of order within lateness: released 20–90 s of event time later.
      held.push({ release: t + 20_000 + random() * 70_000, record: { ...base, kind: 'late-ok' } })
      lateOk++
    } else if (x < 0.03 && g.type !== 'inventory') {
      // Too late: released when event time is 3× the allowed lateness past it.
      held.push({ release: t + 3 * options.allowedLatenessMs, record: { ...base, kind: 'too-late' } })
      tooLate.add(g.event.event.eventId)
    } else {
      records.push({ ...base, kind: 'normal' })
      if (x > 0.995) {
        records.push({ ...base, kind: 'duplicate' })
        duplicates++
      }
    }
  }
  // Whatever is still held back goes last, classified by how far behind the end it is; records
  // too close to the lateness boundary to be sure of (partition watermarks trail the global
  // clock a little) are not sent at all, so every expectation stays exact.
  const last = generated[generated.length - 1]!.event.event.eventTime
  for (const h of held) {
    const behind = last - JSON.parse(h.record.value.toString()).eventTime
    if (h.record.kind === 'too-late') tooLate.delete(h.record.eventId!)
    else lateOk--
    if (behind > options.allowedLatenessMs + 60_000) {
      records.push({ ...h.record, kind: 'too-late' })
      tooLate.add(h.record.eventId!)
    } else if (behind < options.allowedLatenessMs - 60_000) {
      records.push({ ...h.record, kind: 'late-ok' })
      lateOk++
    }
  }
  return { records, malformed, duplicates, tooLate, lateOk }
}

export const topicOf = (prefix: string, type: EventType) => `${prefix}${EventTypes[type].topic}`

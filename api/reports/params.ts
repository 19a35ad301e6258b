import { z } from 'zod'
import { GMV_CUBE, type Grain } from '../../queries/index.js'
import { badRequest } from '../errors.js'

/*
 * Query parameters every report shares, as zod schemas: the one source of validation (a bad value
 * is a 400 naming the field), of the TypeScript types and of the OpenAPI document.
 */

const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
export const MAX_RANGE_MS = 400 * DAY

/** Grains, the grain that answers a range exactly, and range ends: shared with the alert metrics. */
export { GRAINS, bound, grainFor } from '../../queries/index.js'
export type { Grain } from '../../queries/index.js'
export const Granularity = z.enum(['minute', 'hour', 'day'])

const ID = /^[A-Za-z0-9._:-]{1,64}$/

/** A comma-separated list of ids (`community=c-001,c-002`), at most 100. */
export const idList = (what: string) =>
  z
    .string()
    .transform((raw) => raw.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(ID, `each ${what} is 1-64 letters, digits, ".", "_", ":" or "-"`)).max(100, `at most 100 ${what}s`))
    .optional()
    .describe(`${what} ids, comma-separated`)

const instant = z.iso.datetime({ offset: true, message: 'expected an ISO 8601 date-time, e.g. 2026-11-24T08:00:00Z' }).transform((s) => Date.parse(s))

/** from/to: a half-open range [from, to); a cube bucket counts when its start falls inside. */
export const TimeRange = z.object({
  from: instant.optional().describe('range start (inclusive), ISO 8601; default: to − 24 h'),
  to: instant.optional().describe('range end (exclusive), ISO 8601; default: now'),
})

export const Filters = z.object({
  community: idList('community'),
  leader: idList('leader'),
  category: idList('category'),
  sku: idList('sku'),
})

/** Resolves defaults and checks the range: from < to, at most 400 days. Issues name the field. */
export function resolveRange(q: { from?: number; to?: number }, now: number, ctx: z.RefinementCtx, defaultMs = DAY): { from: number; to: number } {
  const to = q.to ?? Math.ceil(now / MINUTE) * MINUTE
  const from = q.from ?? to - defaultMs
  if (from >= to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'must be before to' })
  if (to - from > MAX_RANGE_MS) ctx.addIssue({ code: 'custom', path: ['from'], message: 'the range may span at most 400 days' })
  // Off the hour, an end needs the minute cubes' rows around it; older than their retention those are gone.
  for (const [field, at] of [['from', from], ['to', to]] as const) {
    if (at % HOUR !== 0 && !minuteCubesKeep(at, now)) ctx.addIssue({ code: 'custom', path: [field], message: `minute-precise ends are kept ${MINUTE_CUBE_DAYS} days (the minute cubes): put an end older than that on the hour` })
  }
  return { from, to }
}

/** Bucket starts of a series over [from, to), for filling buckets without rows with zeros. */
export function bucketStarts(from: number, to: number, stepMs: number): number[] {
  const out: number[] = []
  for (let t = Math.floor(from / stepMs) * stepMs; t < to; t += stepMs) out.push(t)
  return out
}

export const STEP_MS: Record<Grain, number> = { minute: MINUTE, hour: HOUR, day: DAY }

/** At most this many points in a series: a week by minute is too many, by hour is fine. */
export const MAX_POINTS = 5_000

/** How long the minute cubes keep their rows (their TTL: every cube's is the same). */
export const MINUTE_CUBE_DAYS = GMV_CUBE.ttlDays.minute

/** Whether the minute cubes still hold the minute that starts at `at` (their TTL counts from now). */
export function minuteCubesKeep(at: number, now: number): boolean {
  return at >= now - MINUTE_CUBE_DAYS * DAY
}

/** One formatter per zone: building an Intl.DateTimeFormat costs far more than using one (it ran per request, cache hits included). */
const offsetFormats = new Map<string, Intl.DateTimeFormat>()

/** The offset of a time zone from UTC at an instant, in minutes (+330 for Asia/Kolkata). */
export function offsetMinutes(tz: string, at: number): number {
  let format = offsetFormats.get(tz)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' })
    if (offsetFormats.size < 1000) offsetFormats.set(tz, format)
  }
  const name = format.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT'
  const m = /^GMT([+-])(\d{1,2})(?::(\d{2}))?$/.exec(name)
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0)) : 0
}

/**
 * The coarsest grain a report by local hour of `tz` may read: hour buckets fall on local hours only
 * where the zone's offset is a whole number of hours; elsewhere (India +5:30, Nepal +5:45,
 * Newfoundland −3:30, …) the minute cubes, which keep MINUTE_CUBE_DAYS — a range starting before
 * them is a 400 naming `from`. (Offsets are checked at both ends and the middle of the range.)
 */
export function localHourGrain(tz: string, from: number, to: number, now: number): 'hour' | 'minute' {
  if ([from, (from + to) / 2, to - 1].every((t) => offsetMinutes(tz, t) % 60 === 0)) return 'hour'
  if (!minuteCubesKeep(from, now)) {
    throw badRequest(`querystring.from: ${tz} is not a whole number of hours from UTC, so reports by local hour come from the minute cubes, which keep ${MINUTE_CUBE_DAYS} days: start the range within them`)
  }
  return 'minute'
}

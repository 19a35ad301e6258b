import { z } from 'zod'
import type { Grain } from '../../pipelines/queries/index.js'

/*
 * Query parameters every report shares, as zod schemas: the one source of validation (a bad value
 * is a 400 naming the field), of the TypeScript types and of the OpenAPI document.
 */

const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
export const MAX_RANGE_MS = 400 * DAY

/** Grains, the grain that answers a range exactly, and range ends: shared with the alert metrics. */
export { GRAINS, bound, grainFor } from '../../pipelines/queries/index.js'
export type { Grain } from '../../pipelines/queries/index.js'
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

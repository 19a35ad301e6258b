import type { z } from 'zod'
import { DecodeErrorCode, fail, ok, type DecodeResult } from './errors.js'
import { compileValidator, INVALID, type CompiledValidator } from './compiled-validator.js'
import { EventTypes, type EventType, type TypedEvent } from './events.js'

/** Bounds on event time; `now` is injected so validation stays a pure function in tests. */
export interface TimeBounds {
  readonly now: () => number
  /** How far past `now` an event time may lie (clock skew between producers). Default 1 day. */
  readonly maxFutureMs: number
  /** The earliest plausible event time. Default 2015-01-01. */
  readonly minEventTime: number
}

export const DEFAULT_TIME_BOUNDS: TimeBounds = Object.freeze({
  now: () => Date.now(),
  maxFutureMs: 24 * 3600_000,
  minEventTime: Date.UTC(2015, 0, 1),
})

// Epoch seconds for any date from 1973 to 5138 lie in [1e9, 1e11); epoch ms in that range would be
// January 1970. Microseconds since 2001 are > 1e15. So the unit is recognisable, not guessed.
const SECONDS_MAX = 1e11
const MICROS_MIN = 1e14

function zodPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.')
}

function firstIssue(error: z.ZodError): { path: string; reason: string } {
  const issue = error.issues[0]
  if (!issue) return { path: '', reason: 'invalid event' }
  let reason = issue.message
  if (issue.code === 'invalid_type' && 'input' in issue && issue.input === undefined) reason = 'required field is missing'
  return { path: zodPath(issue.path), reason }
}

/** Checks an epoch-millisecond time for unit mistakes and plausibility. */
export function checkEventTime(t: number, path: string, bounds: TimeBounds): DecodeResult<number> {
  if (t > 0 && t < SECONDS_MAX) return fail(DecodeErrorCode.TIMESTAMP_UNIT, `${t} looks like epoch seconds; send epoch milliseconds`, path)
  if (t >= MICROS_MIN) return fail(DecodeErrorCode.TIMESTAMP_UNIT, `${t} looks like epoch micro- or nanoseconds; send epoch milliseconds`, path)
  if (t < bounds.minEventTime) return fail(DecodeErrorCode.TIMESTAMP_RANGE, `${new Date(t).toISOString()} is before ${new Date(bounds.minEventTime).toISOString()}`, path)
  const latest = bounds.now() + bounds.maxFutureMs
  if (t > latest) return fail(DecodeErrorCode.TIMESTAMP_RANGE, `${new Date(t).toISOString()} is more than ${bounds.maxFutureMs} ms in the future`, path)
  return ok(t)
}

/** Each event type's schema compiled for valid records (zod decides and words every other case). */
const compiled = Object.fromEntries(Object.entries(EventTypes).map(([t, e]) => [t, compileValidator(e.schema)])) as Record<EventType, CompiledValidator | null>

/** Validates a decoded value as an event of `type`: schema first, then event-time sanity. */
export function validateEvent(type: EventType, value: unknown, bounds: TimeBounds = DEFAULT_TIME_BOUNDS): DecodeResult<TypedEvent> {
  let event: TypedEvent['event']
  const fast = compiled[type]?.(value) ?? INVALID
  if (fast !== INVALID) event = fast as TypedEvent['event']
  else {
    const parsed = EventTypes[type].schema.safeParse(value)
    if (!parsed.success) {
      const { path, reason } = firstIssue(parsed.error)
      return fail(DecodeErrorCode.VALIDATION, reason, path)
    }
    event = parsed.data
  }
  const time = checkEventTime(event.eventTime, 'eventTime', bounds)
  if (!time.ok) return time
  return ok({ type, event } as TypedEvent)
}

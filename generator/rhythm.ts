/*
 * When neighbourhood commerce happens, in the city's local time. Weekdays peak before work and in
 * the evening (group-buying orders close at night); weekends are flatter with a late-morning peak.
 * Values are relative to the busiest hour (1.0).
 */
const WEEKDAY = [0.06, 0.03, 0.02, 0.02, 0.03, 0.08, 0.3, 0.62, 0.7, 0.45, 0.38, 0.42, 0.5, 0.4, 0.32, 0.3, 0.36, 0.5, 0.66, 0.85, 1.0, 0.92, 0.6, 0.22]
const WEEKEND = [0.1, 0.05, 0.03, 0.02, 0.02, 0.04, 0.1, 0.25, 0.45, 0.66, 0.8, 0.82, 0.7, 0.55, 0.5, 0.52, 0.58, 0.66, 0.72, 0.8, 0.86, 0.78, 0.52, 0.25]
/** Weekends carry more traffic overall. */
const WEEKEND_FACTOR = 1.15

/** Relative activity at a UTC time, for a city at `tzOffsetMinutes` from UTC. */
export function activityAt(utcMs: number, tzOffsetMinutes: number): number {
  const local = new Date(utcMs + tzOffsetMinutes * 60_000)
  const hour = local.getUTCHours()
  const frac = local.getUTCMinutes() / 60
  const day = local.getUTCDay()
  const weekend = day === 0 || day === 6
  const curve = weekend ? WEEKEND : WEEKDAY
  // Linear interpolation between hours, so rates change smoothly at hour boundaries.
  const a = curve[hour] as number
  const b = curve[(hour + 1) % 24] as number
  return (a + (b - a) * frac) * (weekend ? WEEKEND_FACTOR : 1)
}

/** The largest value activityAt can take, for thinning. */
export const MAX_ACTIVITY = WEEKEND_FACTOR

/** Local calendar date (YYYY-MM-DD) of a UTC time. */
export function localDate(utcMs: number, tzOffsetMinutes: number): string {
  return new Date(utcMs + tzOffsetMinutes * 60_000).toISOString().slice(0, 10)
}

/** The next UTC time after `utcMs` at which the local clock shows `hour:minute`. */
export function nextLocalTime(utcMs: number, tzOffsetMinutes: number, hour: number, minute = 0): number {
  const offset = tzOffsetMinutes * 60_000
  const local = new Date(utcMs + offset)
  let candidate = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), hour, minute) - offset
  if (candidate <= utcMs) candidate += 86_400_000
  return candidate
}

/** Adds whole days to a YYYY-MM-DD date. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10)
}

export const MINUTE_MS = 60_000

/** The start of the one-minute tumbling window that holds `t` (epoch ms). */
export function minuteStart(t: number): number {
  return t - (((t % MINUTE_MS) + MINUTE_MS) % MINUTE_MS)
}

export const MINUTE_MS = 60_000

/** The start of the one-minute tumbling window that holds `t` (epoch ms). */
export function minuteStart(t: number): number {
  return t - (((t % MINUTE_MS) + MINUTE_MS) % MINUTE_MS)
}

/**
 * Waits `ms`, or until `signal` aborts, whichever is first. The abort listener is removed when the
 * timer fires: a loop that sleeps between ticks on one long-lived signal must not add a listener
 * per tick (it did: thousands of closures an hour in `npm start`, and a MaxListenersExceeded warning).
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** The UTC instant of the local midnight that starts `ref`'s day in `tz`. */
export function localMidnight(ref: number, tz: string): number {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }).formatToParts(ref).map((p) => [p.type, p.value]))
  const sinceMidnight = ((Number(parts.hour) * 60 + Number(parts.minute)) * 60 + Number(parts.second)) * 1000 + (ref % 1000)
  return ref - sinceMidnight
}

/** The local calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function localDateOf(ms: number, tz: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(ms)
}

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

/** The one retry policy: exponential backoff with full jitter, bounded in attempts and in time. */
export interface RetryPolicy {
  readonly initialMs: number
  readonly maxMs: number
  readonly factor: number
  /** Give up after this long in total (the caller then fails loudly). */
  readonly maxElapsedMs: number
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ initialMs: 200, maxMs: 5_000, factor: 2, maxElapsedMs: 10 * 60_000 })

/** Programmer errors are never retried. */
export function isProgrammerError(err: unknown): boolean {
  return err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError || err instanceof ReferenceError
}

/**
 * Runs `fn` until it succeeds, the error is not retryable, or the time budget is spent.
 * `onRetry` is told about each failure (log it, heartbeat, count it); `signal` aborts the waiting.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: { policy?: RetryPolicy; retryable?: (err: unknown) => boolean; onRetry?: (err: unknown, attempt: number, delayMs: number) => void | Promise<void>; signal?: AbortSignal; random?: () => number } = {},
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY
  const random = options.random ?? Math.random
  const started = Date.now()
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (err) {
      const retryable = !isProgrammerError(err) && (options.retryable?.(err) ?? true)
      const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.factor ** (attempt - 1))
      const delay = Math.round(random() * ceiling)
      if (!retryable || Date.now() - started + delay > policy.maxElapsedMs || options.signal?.aborted) throw err
      await options.onRetry?.(err, attempt, delay)
      await new Promise((r) => setTimeout(r, delay))
    }
  }
}

/**
 * The operations retrying now, each counted from its first failure until it ends (succeeded or
 * given up), and a wait for the moment none does: callers that must not add work while a sink
 * fails wait on `ready()`.
 */
export class RetryGate {
  private failing = 0
  private gate: { promise: Promise<void>; open: () => void } | null = null

  /** Resolves at once while nothing retries; otherwise once nothing does. */
  ready(): Promise<void> {
    return this.gate?.promise ?? Promise.resolve()
  }

  /** `fn` under withRetry, counted as failing from its first retry on. */
  async run<T>(fn: () => Promise<T>, options: Parameters<typeof withRetry<T>>[1] = {}): Promise<T> {
    let failed = false
    try {
      return await withRetry(fn, {
        ...options,
        onRetry: (err, attempt, delayMs) => {
          if (!failed) {
            failed = true
            if (this.failing++ === 0) {
              let open!: () => void
              this.gate = { promise: new Promise<void>((r) => (open = r)), open }
            }
          }
          return options.onRetry?.(err, attempt, delayMs)
        },
      })
    } finally {
      if (failed && --this.failing === 0) {
        this.gate?.open()
        this.gate = null
      }
    }
  }
}

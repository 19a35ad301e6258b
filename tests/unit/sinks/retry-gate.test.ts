import { describe, expect, it } from 'vitest'
import { RetryGate } from '../../../sinks/retry.js'

const FAST = { initialMs: 1, maxMs: 2, factor: 1, maxElapsedMs: 2_000 }

/** An operation that fails until the test lets it through (or fails for good). */
function failing() {
  let mode: 'fail' | 'pass' | 'fatal' = 'fail'
  let attempts = 0
  const fn = async () => {
    attempts++
    if (mode === 'pass') return attempts
    throw Object.assign(new Error(`refused (${mode})`), { retryable: mode === 'fail' })
  }
  return { fn, pass: () => (mode = 'pass'), giveUp: () => (mode = 'fatal'), attempts: () => attempts }
}

/** Whether the promise has settled by the next few turns of the event loop. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false
  void p.then(() => (done = true))
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
  return done
}

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 1))
}

describe('RetryGate: waiting while a sink operation retries', () => {
  it('is open while nothing fails, and an operation that succeeds at once never closes it', async () => {
    const gate = new RetryGate()
    expect(await settled(gate.ready())).toBe(true)
    expect(await gate.run(async () => 7, { policy: FAST })).toBe(7)
    expect(await settled(gate.ready())).toBe(true)
  })

  it('closes at the first retry and opens when the operation succeeds', async () => {
    const gate = new RetryGate()
    const op = failing()
    const running = gate.run(op.fn, { policy: FAST, retryable: (e) => (e as { retryable: boolean }).retryable })
    await until(() => op.attempts() >= 2)
    const ready = gate.ready()
    expect(await settled(ready)).toBe(false)
    op.pass()
    await running
    expect(await settled(ready)).toBe(true)
    expect(await settled(gate.ready())).toBe(true)
  })

  it('stays closed until every failing operation has ended, including one that gives up', async () => {
    const gate = new RetryGate()
    const [a, b] = [failing(), failing()]
    const options = { policy: FAST, retryable: (e: unknown) => (e as { retryable: boolean }).retryable }
    const runA = gate.run(a.fn, options)
    const runB = gate.run(b.fn, options).catch((e: Error) => e)
    await until(() => a.attempts() >= 2 && b.attempts() >= 2)
    const ready = gate.ready()
    b.giveUp()
    expect(((await runB) as Error).message).toBe('refused (fatal)')
    expect(await settled(ready)).toBe(false)
    a.pass()
    await runA
    expect(await settled(ready)).toBe(true)
  })

  it('passes every failure on to the caller\'s onRetry', async () => {
    const gate = new RetryGate()
    const op = failing()
    const seen: number[] = []
    const running = gate.run(op.fn, { policy: FAST, onRetry: (_e, attempt) => void seen.push(attempt) })
    await until(() => seen.length >= 3)
    op.pass()
    await running
    expect(seen.slice(0, 3)).toEqual([1, 2, 3])
  })
})

import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { sleep } from '../../../schemas/index.js'

describe('sleep', () => {
  it('leaves no abort listener behind when the timer fires (a loop of ticks on one signal)', async () => {
    const abort = new AbortController()
    for (let i = 0; i < 20; i++) await sleep(1, abort.signal)
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0)
  })

  it('ends at once when the signal aborts, and does not wait on an aborted signal', async () => {
    const abort = new AbortController()
    const pending = sleep(60_000, abort.signal)
    abort.abort()
    await pending
    await sleep(60_000, abort.signal)
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0)
  })
})

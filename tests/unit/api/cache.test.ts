import { Counter, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { normalizedKey, ReportCache, ttlFor } from '../../../api/cache.js'

function counter() {
  const registry = new Registry()
  const c = new Counter({ name: 'c', help: 'c', labelNames: ['result'], registers: [registry] })
  const count = async (result: string) => (await registry.getSingleMetricAsString('c')).match(new RegExp(`result="${result}"} (\\d+)`))?.[1] ?? '0'
  return { c, count }
}

describe('ReportCache', () => {
  it('runs concurrent identical queries once (single flight) and serves the rest from the entry', async () => {
    const { c, count } = counter()
    const cache = new ReportCache(10, c)
    let runs = 0
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const compute = async () => {
      runs++
      await gate
      return { n: 42 }
    }
    const waiting = Array.from({ length: 10 }, () => cache.get('k', 1000, compute))
    release()
    const bodies = await Promise.all(waiting)
    expect(runs).toBe(1)
    expect(new Set(bodies.map((b) => b.etag)).size).toBe(1)
    expect(bodies[0]?.body).toBe('{"n":42}')
    await cache.get('k', 1000, compute)
    expect(runs).toBe(1)
    expect([await count('miss'), await count('shared'), await count('hit')]).toEqual(['1', '9', '1'])
  })

  it('expires entries after their TTL and keeps at most maxEntries, least recently used out', async () => {
    let now = 0
    const cache = new ReportCache(2, undefined, () => now)
    let runs = 0
    const compute = async () => ({ run: ++runs })
    await cache.get('a', 100, compute)
    now = 50
    expect((await cache.get('a', 100, compute)).body).toBe('{"run":1}')
    now = 101
    expect((await cache.get('a', 100, compute)).body).toBe('{"run":2}')
    await cache.get('b', 1000, compute)
    await cache.get('a', 1000, compute) // a is now the most recent
    await cache.get('c', 1000, compute) // evicts b
    expect(cache.size).toBe(2)
    const before = runs
    await cache.get('a', 1000, compute)
    expect(runs).toBe(before)
    await cache.get('b', 1000, compute)
    expect(runs).toBe(before + 1)
  })

  it('a failed computation is not cached, and the next request runs it again', async () => {
    const cache = new ReportCache(10)
    await expect(cache.get('k', 1000, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect((await cache.get('k', 1000, async () => 1)).body).toBe('1')
  })

  it('keys ignore parameter order but not the scope; fresh ranges get short TTLs', () => {
    expect(normalizedKey('/r', { a: 1, b: [2] }, ['leader', ['c-1']])).toBe(normalizedKey('/r', { b: [2], a: 1 }, ['leader', ['c-1']]))
    expect(normalizedKey('/r', { a: 1 }, ['leader', ['c-1']])).not.toBe(normalizedKey('/r', { a: 1 }, ['leader', ['c-2']]))
    const now = 10_000_000
    expect(ttlFor(now, now, 300_000)).toBe(2_000)
    expect(ttlFor(now - 200_000, now, 300_000)).toBe(10_000)
    expect(ttlFor(now - 3_600_000, now, 300_000)).toBe(300_000)
  })
})

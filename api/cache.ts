import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import type { Counter } from 'prom-client'

const gzipAsync = promisify(gzip)

/** Bodies from this size on are worth compressing (below it, headers and CPU outweigh the saving). */
export const GZIP_MIN_BYTES = 1024

/**
 * A cached answer: the serialized body and its entity tag; its gzip form is made once, the first
 * time a client that accepts it asks (a heatmap of 2,000 cells is ~160 KB of JSON, ~25 KB
 * gzipped: what a phone on a mobile network downloads every poll).
 */
export class CachedBody {
  private gz: Promise<Buffer> | undefined

  constructor(
    readonly body: string,
    readonly etag: string,
    readonly expiresAt: number,
  ) {}

  /**
   * The gzip form (its own entity tag: another representation of the same report), or null when
   * too small to pay. Compressed off the event loop (libuv's pool), once: concurrent first asks
   * share the one compression.
   */
  async gzipped(): Promise<{ body: Buffer; etag: string } | null> {
    if (this.body.length < GZIP_MIN_BYTES) return null
    this.gz ??= gzipAsync(this.body, { level: 6 })
    return { body: await this.gz, etag: `${this.etag.slice(0, -1)}-gz"` }
  }
}

/**
 * The report cache: bounded (least recently used out), entries live for a TTL chosen per query,
 * and concurrent identical queries share one execution (single flight), so a dashboard wall
 * polling the same report costs one ClickHouse query per TTL, not one per screen.
 *
 * The key is the normalized query and the caller's row scope: two callers with different
 * scopes never share an entry.
 */
export class ReportCache {
  private readonly entries = new Map<string, CachedBody>()
  private readonly inflight = new Map<string, Promise<CachedBody>>()

  constructor(
    private readonly maxEntries: number,
    private readonly counter?: Counter<'result'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached body for `key`, computing it once (whatever the concurrency) when absent or expired. */
  async get(key: string, ttlMs: number, compute: () => Promise<unknown>): Promise<CachedBody> {
    const hit = this.entries.get(key)
    if (hit && hit.expiresAt > this.now()) {
      // Refresh its place in the LRU order.
      this.entries.delete(key)
      this.entries.set(key, hit)
      this.counter?.inc({ result: 'hit' })
      return hit
    }
    const shared = this.inflight.get(key)
    if (shared) {
      this.counter?.inc({ result: 'shared' })
      return shared
    }
    this.counter?.inc({ result: 'miss' })
    const run = (async () => {
      const body = JSON.stringify(await compute())
      const entry = new CachedBody(body, `"${createHash('sha1').update(body).digest('base64url')}"`, this.now() + ttlMs)
      if (this.maxEntries > 0 && ttlMs > 0) {
        this.entries.delete(key)
        this.entries.set(key, entry)
        while (this.entries.size > this.maxEntries) {
          const oldest = this.entries.keys().next().value as string
          this.entries.delete(oldest)
        }
      }
      return entry
    })()
    this.inflight.set(key, run)
    try {
      return await run
    } finally {
      this.inflight.delete(key)
    }
  }

  get size(): number {
    return this.entries.size
  }
}

/**
 * How long a report over [from, to) may be served from the cache: data still arriving (a range
 * that reaches into the last minutes) changes every flush; a range that ended before the allowed
 * lateness can no longer change except by a rebuild.
 */
export function ttlFor(toMs: number, nowMs: number, allowedLatenessMs: number): number {
  const age = nowMs - toMs
  if (age < 120_000) return 2_000
  if (age < allowedLatenessMs + 120_000) return 10_000
  return 300_000
}

/** A stable key for a query: keys sorted, arrays kept in order. */
export function normalizedKey(route: string, query: Record<string, unknown>, scope: unknown): string {
  const sorted = Object.keys(query)
    .sort()
    .map((k) => [k, query[k] instanceof Date ? (query[k] as Date).toISOString() : query[k]])
  return JSON.stringify([route, sorted, scope])
}

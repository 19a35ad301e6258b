/*
 * Insert payloads in reused memory. On the machines this project runs on, the first touch of
 * fresh memory costs far more than copying into memory already touched: a 10 MiB buffer
 * allocated and filled took ≈ 5 ms against ≈ 0.26 ms for the same fill of a reused one, and
 * inside a worker, where the engine's threads map and unmap memory too, a fresh 10 MiB copy took
 * ≈ 50 ms (bench/README.md, issue 17). A worker builds a payload of about its records' size for
 * every flush, so payloads are written into buffers that come back to a pool once their insert
 * has succeeded.
 */

/** Reused byte buffers, held up to a byte bound; a buffer beyond it is left to the collector. */
export class BufferPool {
  private readonly free: Buffer[] = []
  private held = 0

  constructor(private bound: number) {}

  /** The most it holds. */
  get maxBytes(): number {
    return this.bound
  }

  /** Sets the bound; buffers held beyond a lower one are left to the collector, largest first. */
  resize(maxBytes: number): void {
    this.bound = maxBytes
    this.free.sort((a, b) => a.length - b.length)
    while (this.held > this.bound) this.held -= (this.free.pop() as Buffer).length
  }

  /** A buffer of at least `min` bytes (contents undefined). */
  take(min: number): Buffer {
    let best = -1
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i] as Buffer
      if (b.length >= min && (best < 0 || b.length < (this.free[best] as Buffer).length)) best = i
    }
    if (best < 0) return Buffer.allocUnsafeSlow(capacityFor(min))
    const [buf] = this.free.splice(best, 1) as [Buffer]
    this.held -= buf.length
    return buf
  }

  /** Gives a buffer back: nothing may use it afterwards. */
  give(buf: Buffer): void {
    if (buf.length === 0 || this.held + buf.length > this.bound) return
    this.free.push(buf)
    this.held += buf.length
  }

  get heldBytes(): number {
    return this.held
  }
}

/** Capacities are powers of two from 64 KiB, so buffers of one pool fit each other's payloads. */
function capacityFor(min: number): number {
  let c = 64 * 1024
  while (c < min) c *= 2
  return c
}

/**
 * The process's payload buffers: the worker's flushes take and give them. Its bound is the config's
 * `engine.payloadPoolBytes` (PAYLOAD_POOL_BYTES, default 16 MiB), set by createWorker: with 8 MB
 * semi-spaces 16 MiB took ≈ 70 MB off a worker's peak RSS against 64 MiB, at no CPU cost in
 * alternating runs (bench/README.md, issue 17); the largest payloads of a round are allocated fresh.
 */
export const payloadPool = new BufferPool(16 * 1024 * 1024)

/** Bytes ready to insert, and how to give their memory back once the insert has succeeded. */
export interface Payload {
  readonly bytes: Buffer
  /** Returns the memory to its pool: call once, and only when nothing reads `bytes` any more. */
  release(): void
}

/** A payload of bytes that belong to nobody's pool. */
export const unpooled = (bytes: Buffer): Payload => ({ bytes, release: () => {} })

/** The separator between JSONCompactEachRow rows in a payload (the format accepts commas as it accepts newlines). */
export const ROW_SEPARATOR = 0x2c

/** The first `length` bytes of a pooled buffer, given back (once) on release. */
function pooled(whole: Buffer, length: number, pool: BufferPool): Payload {
  let released = false
  return {
    bytes: whole.subarray(0, length),
    release: () => {
      if (released) return
      released = true
      pool.give(whole)
    },
  }
}

/** Text appended as UTF-8 into a pooled buffer that grows by doubling. */
export class PayloadWriter {
  private buf: Buffer | null = null
  private at = 0
  /** The last payload's length: the next one starts with room for as much (no doubling copies on the way). */
  private hint = 0

  constructor(private readonly pool: BufferPool = payloadPool) {}

  get length(): number {
    return this.at
  }

  /** Appends a string, preceded by `separator` (a byte) when the payload is not empty. */
  append(text: string, separator?: number): void {
    const extra = separator !== undefined && this.at > 0 ? 1 : 0
    // Every UTF-16 unit is at most 3 UTF-8 bytes: only a string near the end needs measuring.
    const room = this.buf ? this.buf.length - this.at : 0
    if (room < text.length * 3 + extra) this.reserve(Buffer.byteLength(text) + extra)
    const buf = this.buf as Buffer
    if (extra) buf[this.at++] = separator as number
    this.at += buf.write(text, this.at)
  }

  /**
   * Room for `n` more bytes, after `separator` (a byte) when the payload is not empty: the buffer to
   * write into from `length`; `commit` then says where the writing ended.
   */
  room(n: number, separator?: number): Buffer {
    this.reserve(n + 1)
    const buf = this.buf as Buffer
    if (separator !== undefined && this.at > 0) buf[this.at++] = separator
    return buf
  }

  /** Ends a write into `room`'s buffer at `end`. */
  commit(end: number): void {
    this.at = end
  }

  /** What was appended, as a payload; the writer starts empty again. Null when nothing was. */
  take(): Payload | null {
    if (!this.buf || this.at === 0) return null
    const payload = pooled(this.buf, this.at, this.pool)
    this.hint = this.at
    this.buf = null
    this.at = 0
    return payload
  }

  private reserve(n: number): void {
    const need = this.at + n
    if (this.buf && this.buf.length >= need) return
    const next = this.pool.take(Math.max(need, this.buf ? this.buf.length * 2 : this.hint))
    if (this.buf) {
      this.buf.copy(next, 0, 0, this.at)
      this.pool.give(this.buf)
    }
    this.buf = next
  }
}

/**
 * Several payloads as one, separated by `separator`: the parts are copied into one pooled buffer
 * and given back at once. One part is passed through as it is.
 */
export function joinPayloads(parts: readonly Payload[], separator: number, pool: BufferPool = payloadPool): Payload {
  if (parts.length === 1) return parts[0] as Payload
  let size = Math.max(0, parts.length - 1)
  for (const p of parts) size += p.bytes.length
  const whole = pool.take(size)
  let at = 0
  parts.forEach((p, i) => {
    if (i > 0) whole[at++] = separator
    at += p.bytes.copy(whole, at)
    p.release()
  })
  return pooled(whole, at, pool)
}

import type { ClickHouse } from './connection.js'

/**
 * Connections to one database handed out one statement at a time: an embedded-engine session runs
 * one statement at a time, so concurrent work takes an idle connection or waits, first come first
 * served, for the next to be released. Used by the flush executor (table inserts) and the API
 * (report queries).
 */
export class SessionPool {
  private readonly idle: ClickHouse[]
  private readonly waiting: ((c: ClickHouse) => void)[] = []
  /** How many connections the pool holds. */
  readonly size: number

  constructor(connections: readonly ClickHouse[]) {
    this.idle = [...connections]
    this.size = connections.length
  }

  /** An idle connection, or the next one released. */
  acquire(): Promise<ClickHouse> {
    const c = this.idle.pop()
    if (c) return Promise.resolve(c)
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  release(c: ClickHouse): void {
    const next = this.waiting.shift()
    if (next) next(c)
    else this.idle.push(c)
  }
}

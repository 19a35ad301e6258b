import type { FastifyBaseLogger } from 'fastify'
import { classifyClickHouseError, SessionPool, type ClickHouse } from '../../sinks/index.js'
import { CubeRange, type CubeDeclaration } from '../../queries/index.js'
import { ApiError, ApiErrorCode } from '../errors.js'

/** A report query's parameters: ClickHouse binds them (`{name:Type}`); the SQL text never changes with the input. */
export type QueryParams = Record<string, unknown>

/**
 * Runs report queries with a deadline: `max_execution_time` stops the query inside ClickHouse and
 * an abort signal stops waiting for it, whichever comes first; either way the caller gets a 504
 * naming the timeout, never a hang. An unreachable ClickHouse is a 503.
 *
 * The settings go with every statement: on the embedded engine they become session settings, and
 * the API's connections are sessions of their own, so nothing leaks into the pipelines' inserts.
 * On the embedded engine a session runs one statement at a time: with several sessions
 * (API_SESSIONS) a query takes an idle one, or waits for the first to free up, and new queries run
 * in parallel (chDB executes separate sessions concurrently).
 */
export class ReportQueries {
  private readonly pool: SessionPool

  constructor(
    ch: ClickHouse,
    readonly timeoutMs: number,
    private readonly log: FastifyBaseLogger,
    sessions: readonly ClickHouse[] = [],
  ) {
    this.pool = new SessionPool([ch, ...sessions])
  }

  private measuresSince: { at: number; since: Promise<Map<string, number>> } | null = null

  /**
   * Whether a read of `measure` from `from` on, filtered or grouped by `dimensions`, may count it
   * exactly with the sum the cube also keeps for it (CubeDeclaration.exactCounts): the read does
   * not split what the sum counts once, and every bucket from `from` on carries the sum — from
   * the instant the migration that added it recorded in streamcube_measures_since (read again
   * every minute; no row, or no table yet, means not yet). Otherwise the caller merges the states.
   */
  async exactCounts(cube: CubeDeclaration, measure: string, from: number, dimensions: readonly string[]): Promise<boolean> {
    const exact = cube.exactCounts?.[measure]
    if (!exact || dimensions.includes(exact.splitBy)) return false
    if (!this.measuresSince || Date.now() - this.measuresSince.at > 60_000) {
      const since = this.rows<{ cube: string; measure: string; since: number }>('SELECT cube, measure, toUnixTimestamp(max(since)) AS since FROM streamcube_measures_since GROUP BY ALL', {})
        .then((rows) => new Map(rows.map((r) => [`${r.cube}.${r.measure}`, Number(r.since) * 1000])))
        .catch((err: unknown) => {
          this.log.warn({ err }, 'streamcube_measures_since unreadable: distinct counts read from their states')
          return new Map<string, number>()
        })
      this.measuresSince = { at: Date.now(), since }
    }
    const since = (await this.measuresSince.since).get(`${cube.name}.${exact.sum}`)
    return since !== undefined && from >= since
  }

  /** How many sessions queries are spread over. */
  get sessions(): number {
    return this.pool.size
  }

  /**
   * A parameter that is a CubeRange replaces its `{name:Identifier}` in the query by the union of
   * the cube's tables it reads (queries/cube-range.ts), with its bounds bound as parameters.
   */
  async rows<T>(query: string, params: QueryParams): Promise<T[]> {
    const bound: QueryParams = {}
    for (const [name, value] of Object.entries(params)) {
      if (!(value instanceof CubeRange)) {
        bound[name] = value
        continue
      }
      const source = value.sql(name)
      query = query.replaceAll(`{${name}:Identifier}`, source.sql)
      Object.assign(bound, source.params)
    }
    return this.session(async (ch, signal) => {
      const rs = await ch.client.query({
        query,
        query_params: bound,
        format: 'JSONEachRow',
        abort_signal: signal,
        clickhouse_settings: {
          max_execution_time: this.timeoutMs / 1000, // fractional seconds are accepted
          timeout_overflow_mode: 'throw',
          output_format_json_quote_64bit_integers: 0,
        },
      })
      return await rs.json<T>()
    })
  }

  /**
   * Runs a route's statements on one session of the pool, under the same deadline as a report
   * query: the alert rules, the campaigns and /ready use it, so no two statements ever share an
   * embedded session. Past the deadline the caller gets its 504 at once; the session goes back to
   * the pool only when `fn` has settled (a statement still running keeps it).
   */
  async session<T>(fn: (ch: ClickHouse, signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController()
    // The deadline counts from the request: time spent waiting for a session is part of it.
    const timer = setTimeout(() => abort.abort(), this.timeoutMs)
    const expired = new Promise<never>((_, reject) => abort.signal.addEventListener('abort', () => reject(Object.assign(new Error('deadline passed'), { type: 'TIMEOUT_EXCEEDED' })), { once: true }))
    expired.catch(() => {})
    const acquiring = this.pool.acquire()
    let acquired = false
    try {
      const ch = await Promise.race([acquiring, expired])
      acquired = true
      const work = fn(ch, abort.signal)
      void work.finally(() => this.pool.release(ch)).catch(() => {})
      return await Promise.race([work, expired])
    } catch (err) {
      // The deadline passed while waiting: the session, once it comes, goes straight back.
      if (!acquired) void acquiring.then((ch) => this.pool.release(ch), () => {})
      throw this.classify(err, abort.signal.aborted)
    } finally {
      clearTimeout(timer)
    }
  }

  private classify(err: unknown, aborted: boolean): ApiError {
    if (err instanceof ApiError) return err
    const kind = aborted ? 'timeout' : classifyClickHouseError(err)
    if (kind === 'timeout') {
      return new ApiError(ApiErrorCode.QUERY_TIMEOUT, 504, `the query did not finish within ${this.timeoutMs} ms (API_QUERY_TIMEOUT_MS): narrow the range or the filters`)
    }
    if (kind === 'unreachable') {
      this.log.warn({ err }, 'ClickHouse unreachable')
      return new ApiError(ApiErrorCode.UNAVAILABLE, 503, 'ClickHouse is unreachable; retry shortly')
    }
    this.log.error({ err }, 'query failed')
    return new ApiError(ApiErrorCode.INTERNAL, 500, 'internal error')
  }
}

/** Numbers as ClickHouse returns them in JSON (64-bit integers as numbers, given the setting above). */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v))

/** The scope predicates every report appends (parameters from scopeParams) and list filters: shared with the pipelines. */
export { COMMUNITY_SCOPE, SKU_SCOPE, filterOn } from '../../queries/index.js'
export { RANGE } from '../../queries/index.js'

import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll } from 'vitest'
import { buildApi, newApiKey, type ApiKeyEntry } from '../../../api/index.js'
import { EventGenerator, runGeneratorSource, type GeneratorOptions } from '../../../generator/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { loadConfig } from '../../../schemas/index.js'
import { migrate, type ClickHouse } from '../../../sinks/index.js'
import { openSecondConnection, openTestClickHouse } from '../../services/clickhouse.js'
import { RECENT_START, silent } from '../engine/harness.js'

const HOUR = 3_600_000
/** 00:00 UTC two days ago = 08:00 in Hangzhou: the generated day's busy hours. */
export const DAY_START = RECENT_START + 8 * HOUR
export const FILL_HOURS = 10

/**
 * Keys for every role; the leader reads c-001 and c-002, the supplier two SKUs; `ownLeader` is a
 * leader key that names her own leader id (l-001-1, in c-001).
 */
export function testKeys(): { keys: Record<'admin' | 'analyst' | 'leader' | 'supplier' | 'ownLeader', string>; entries: ApiKeyEntry[] } {
  const made = {
    admin: newApiKey({ name: 'ops', role: 'admin' }),
    analyst: newApiKey({ name: 'bi', role: 'analyst' }),
    leader: newApiKey({ name: 'leader-1', role: 'leader', communities: ['c-001', 'c-002'] }),
    supplier: newApiKey({ name: 'acme', role: 'supplier', skus: ['sku-0001', 'sku-0004'] }),
    ownLeader: newApiKey({ name: 'leader-l-001-1', role: 'leader', communities: ['c-001'], leaders: ['l-001-1'] }),
  }
  return {
    keys: { admin: made.admin.key, analyst: made.analyst.key, leader: made.leader.key, supplier: made.supplier.key, ownLeader: made.ownLeader.key },
    entries: Object.values(made).map((m) => m.entry),
  }
}

export interface ApiSuite {
  ch: ClickHouse & { drop(): Promise<void> }
  app: FastifyInstance
  keys: ReturnType<typeof testKeys>['keys']
  /** End of the generated data (exclusive). */
  end: number
  events: number
  /** GET with a role's key; returns status, parsed body and headers. */
  get(path: string, role?: keyof ApiSuite['keys'] | null, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Record<string, unknown> }> // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Plain SQL over the raw events (the oracle side). */
  sql<T = Record<string, unknown>>(query: string, params?: Record<string, unknown>): Promise<T[]>
}

/**
 * A database filled by the real pipelines (the built-in generator as source, the same processors,
 * flush protocol and sink as the Kafka worker) over FILL_HOURS of a past day, and the API on its
 * own connection, as in `npm start`. `beforeApi` changes the filled database before the API starts.
 */
export function apiSuite(name: string, env: Record<string, string> = {}, fillHours = FILL_HOURS, start = DAY_START, planted: Partial<Omit<GeneratorOptions, 'start' | 'seed'>> = {}, beforeApi?: (ch: ClickHouse, end: number) => Promise<void>): ApiSuite {
  const suite = {} as ApiSuite
  let apiCh: ClickHouse
  let sessions: ClickHouse[] = []
  beforeAll(async () => {
    suite.ch = await openTestClickHouse(name)
    await migrate(suite.ch)
    const end = start + fillHours * HOUR
    suite.end = end
    suite.events = fillHours > 0
      ? await runGeneratorSource({
        generator: new EventGenerator({ seed: 7, start, ...planted }),
        pipelines: PIPELINES,
        ch: suite.ch,
        log: silent,
        signal: new AbortController().signal,
        intervalMs: 1,
        now: () => end,
        until: end,
      })
      : 0
    await beforeApi?.(suite.ch, end)
    const { keys, entries } = testKeys()
    suite.keys = keys
    apiCh = await openSecondConnection(suite.ch)
    // Report queries over several sessions, as `streamcube api` and `npm start` run them.
    sessions = await Promise.all([openSecondConnection(suite.ch), openSecondConnection(suite.ch)])
    const config = loadConfig({ API_KEYS: JSON.stringify(entries), LOG_LEVEL: 'silent', API_RATE_LIMIT: '100000', ...env })
    suite.app = await buildApi({ ch: apiCh, querySessions: sessions, log: silent, config, now: () => end })
    await suite.app.ready()
  }, 180_000)
  afterAll(async () => {
    await suite.app?.close()
    for (const c of sessions) await c.close()
    await apiCh?.close()
    await suite.ch?.drop()
  })
  suite.get = async (path, role = 'admin', headers = {}) => {
    const res = await suite.app.inject({ method: 'GET', url: path, headers: { ...(role ? { 'x-api-key': suite.keys[role] } : {}), ...headers } })
    let body: unknown = res.body
    try {
      body = JSON.parse(res.body)
    } catch {
      // not JSON (304, the page)
    }
    return { status: res.statusCode, body, headers: res.headers }
  }
  suite.sql = async <T>(query: string, params: Record<string, unknown> = {}) => {
    const rs = await suite.ch.client.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })
    return rs.json<T>()
  }
  return suite
}

export const iso = (ms: number) => new Date(ms).toISOString()

import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { createClient, type ClickHouseClient } from '@clickhouse/client'
import type { Logger } from 'pino'
import { SinkError, SinkErrorCode } from '../errors.js'
import { quoteIdentifier, type ClickHouse, type ClickHouseTarget, type RawInsert } from './connection.js'
import { repairDeduplicationLogs } from './dedup-repair.js'

type ConnectionOption = NonNullable<Parameters<typeof createClient>[0]>['connection']

/**
 * The one ClickHouse client factory: the CLI, the workers, the API and the tests all connect here,
 * with the same @clickhouse/client code on a server and on the embedded engine.
 *
 * On the embedded engine every connection is its own session whose settings persist between
 * statements (see shared/EMBEDDED-CLICKHOUSE.md), so callers that set session-sensitive settings
 * (the sink's deduplication token, the API's timeouts) open their own connection and set every
 * such setting on every statement. The embedded engine binds one data directory per process.
 */
export async function connectClickHouse(target: ClickHouseTarget, options: { application?: string; log?: Logger } = {}): Promise<ClickHouse> {
  const database = target.database
  if (target.url) {
    // Create the database through a client without a default database, then bind one to it.
    const admin = createClient({ url: target.url, username: target.username, password: target.password, application: options.application ?? 'streamcube' })
    try {
      await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}` })
    } catch (err) {
      throw new SinkError(SinkErrorCode.CONNECT, `cannot reach ClickHouse at ${target.url}: ${(err as Error).message}`, { retryable: true, cause: err, context: { url: target.url } })
    } finally {
      await admin.close()
    }
    const client = createClient({
      url: target.url,
      username: target.username,
      password: target.password,
      database,
      application: options.application ?? 'streamcube',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    })
    return { client, kind: 'server', database, close: () => client.close() }
  }
  const path = resolve(target.dataDir)
  const quoted = quoteIdentifier(database) // a bad name is the caller's mistake, not a locked directory
  mkdirSync(path, { recursive: true })
  let client: ClickHouseClient
  let rawInsert: RawInsert
  try {
    // chdb is typed against its own copy of @clickhouse/client-common; the runtime contract is the same.
    // Loaded on demand: a server deployment never maps the engine's library, and the library must
    // not be loaded in a worker thread (it aborts there), which a top-level import would risk.
    const { createChdbConnection } = await import('chdb/connection')
    const chdb = createChdbConnection({ path })
    rawInsert = (params) => chdb.chdb.rawInsert(params)
    client = createClient({ connection: chdb as unknown as ConnectionOption })
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoted}` })
    // USE is session state on the embedded engine: it makes `database` the default for this connection.
    await client.command({ query: `USE ${quoted}` })
  } catch (err) {
    throw new SinkError(
      SinkErrorCode.EMBEDDED_LOCKED,
      `cannot open the embedded ClickHouse data directory ${path}: ${(err as Error).message}. ` +
        'The embedded engine allows one process per data directory: stop the other streamcube process, ' +
        'set STREAMCUBE_DATA_DIR to another directory, or run a ClickHouse server and set CLICKHOUSE_URL.',
      { cause: err, context: { dataDir: path } },
    )
  }
  const ch: ClickHouse = { client, kind: 'embedded', database, rawInsert, close: () => client.close() }
  // Once per process and database, before anything inserts: the engine's crash window (dedup-repair.ts).
  const key = `${path}\u0000${database}`
  if (!repairedDatabases.has(key)) {
    repairedDatabases.add(key)
    await repairDeduplicationLogs(ch, options.log)
  }
  return ch
}

/** Embedded databases whose deduplication logs this process has repaired (dedup-repair.ts). */
const repairedDatabases = new Set<string>()

import type { ClickHouseClient } from '@clickhouse/client'
import { SinkError, SinkErrorCode } from '../errors.js'

/** Where ClickHouse is: a server URL, or a data directory for the embedded engine (chDB). */
export interface ClickHouseTarget {
  readonly url: string | null
  readonly username?: string
  readonly password?: string
  readonly database: string
  readonly dataDir: string
}

export const ClickHouseKind = { server: 'server', embedded: 'embedded' } as const
export type ClickHouseKind = (typeof ClickHouseKind)[keyof typeof ClickHouseKind]

/**
 * The embedded engine's raw insert: the payload bytes go to the engine as they are (no copy into
 * a SQL string, parsed by the engine's parallel parser) and the settings travel in the INSERT's
 * own SETTINGS clause, so they are query-scoped and cannot leak into the next statement.
 */
export type RawInsert = (params: { table: string; columns?: readonly string[]; values: Buffer; format: 'JSONEachRow' | 'JSONCompactEachRow'; settings: Record<string, string | number> }) => Promise<unknown>

/** A connected client and what it is connected to. */
export interface ClickHouse {
  readonly client: ClickHouseClient
  readonly kind: ClickHouseKind
  readonly database: string
  /** Only on the embedded engine: the raw, zero-copy insert path (see RawInsert). */
  readonly rawInsert?: RawInsert
  close(): Promise<void>
}

/** Backquotes an identifier for the few places (DDL) where query parameters cannot stand. */
export function quoteIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new SinkError(SinkErrorCode.QUERY, `invalid identifier ${JSON.stringify(name)}`)
  return `\`${name}\``
}

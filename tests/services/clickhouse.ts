import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, inject } from 'vitest'
import { connectClickHouse, migrate, quoteIdentifier, type ClickHouse } from '../../sinks/index.js'

// The embedded engine binds one data directory per process: every test file (a forked process)
// gets its own, and every test its own database inside it.
let embeddedDir: string | undefined

/** A fresh, randomly named database on the run's ClickHouse (server or embedded). */
export async function openTestClickHouse(prefix = 't'): Promise<ClickHouse & { drop(): Promise<void> }> {
  const url = inject('clickhouseUrl')
  embeddedDir ??= mkdtempSync(join(tmpdir(), 'streamcube-chdb-'))
  const database = `${prefix}_${randomBytes(5).toString('hex')}`
  const ch = await connectClickHouse({ url, database, dataDir: embeddedDir, username: process.env.CLICKHOUSE_USER, password: process.env.CLICKHOUSE_PASSWORD })
  return {
    ...ch,
    async drop() {
      await ch.client.command({ query: `DROP DATABASE IF EXISTS ${quoteIdentifier(database)}` })
      await ch.close()
    },
  }
}

/**
 * Another connection to the same database (its own session on the embedded engine): concurrent
 * writers each need their own, as statements on one embedded session must not run concurrently.
 */
export async function openSecondConnection(of: ClickHouse): Promise<ClickHouse> {
  return connectClickHouse({ url: inject('clickhouseUrl'), database: of.database, dataDir: embeddedDir as string, username: process.env.CLICKHOUSE_USER, password: process.env.CLICKHOUSE_PASSWORD })
}

/** The embedded data directory of this test process (for CLI tests that must not share it). */
export function newDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'streamcube-cli-chdb-'))
}

/**
 * For the describe block it is called in: a fresh database on the run's ClickHouse, opened (and
 * migrated, unless told not to) before the block's tests and dropped after them. The handle can
 * be passed around at once; its members are there from the block's first hook on.
 */
export function testDatabase(prefix: string, { migrated = true }: { migrated?: boolean } = {}): ClickHouse {
  let ch: (ClickHouse & { drop(): Promise<void> }) | undefined
  const open = (): ClickHouse => {
    if (!ch) throw new Error(`test database ${prefix}: used before its beforeAll opened it (or after afterAll)`)
    return ch
  }
  beforeAll(async () => {
    ch = await openTestClickHouse(prefix)
    if (migrated) await migrate(ch)
  })
  afterAll(async () => {
    await ch?.drop()
    ch = undefined
  })
  return {
    get client() { return open().client },
    get kind() { return open().kind },
    get database() { return open().database },
    get rawInsert() { return open().rawInsert },
    close: async () => open().close(),
  }
}

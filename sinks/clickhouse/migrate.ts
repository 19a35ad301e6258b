import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import type { Logger } from 'pino'
import { SinkError, SinkErrorCode } from '../errors.js'
import type { ClickHouse } from './connection.js'

/*
 * Ordered ClickHouse migrations from sql/migrations/NNNN_name.sql. One source yields two variants:
 * single node (MergeTree family) and cluster (Replicated* engines, ON CLUSTER), through tokens:
 *   {{ON_CLUSTER}}        → "" or " ON CLUSTER '<cluster>'"
 *   {{MergeTree}}, {{AggregatingMergeTree}}, {{ReplacingMergeTree}}, … → the engine, or its Replicated twin
 *   {{LOCAL name}}        → "name" on a single node, "name_local" (the shard-local table) on a cluster
 *   {{DISTRIBUTED name key}} → nothing on a single node; on a cluster a statement creating the
 *                           Distributed table "name" over "name_local" (sharded by the table's first
 *                           ORDER BY column, so a replayed batch lands on the same shards)
 *   {{DISTRIBUTED_ADD_COLUMN name column type}} → nothing on a single node; on a cluster the
 *                           ADD COLUMN of the Distributed table "name" (its local tables are
 *                           altered by the statement before it)
 *   {{DISTRIBUTED_ALTER name clauses}} → nothing on a single node; on a cluster "ALTER TABLE name
 *                           ON CLUSTER … clauses" for the Distributed table (e.g. MODIFY COLUMN,
 *                           after the same ALTER of its local tables)
 * Each statement is written to be re-runnable (IF NOT EXISTS), and a migration's version is
 * recorded only after all its statements succeed, so an interrupted run is finished by the next.
 */

const MIGRATIONS_DIR = new URL('../../sql/migrations/', import.meta.url)
const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/
const TABLE = 'streamcube_migrations'

export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
  readonly checksum: string
}

export interface MigrationVariant {
  /** The cluster name for the cluster variant; null for a single node. */
  readonly cluster: string | null
}

/** Loads the migrations in version order. */
export function loadMigrations(dir: URL = MIGRATIONS_DIR): Migration[] {
  const migrations: Migration[] = []
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue
    const m = FILE.exec(file)
    if (!m) throw new SinkError(SinkErrorCode.MIGRATION_FILE, `migration file ${file} does not match NNNN_name.sql`)
    const sql = readFileSync(new URL(file, dir), 'utf8')
    migrations.push({ version: Number(m[1]), name: m[2] as string, sql, checksum: createHash('sha256').update(sql).digest('hex').slice(0, 16) })
  }
  for (let i = 1; i < migrations.length; i++) {
    if ((migrations[i] as Migration).version === (migrations[i - 1] as Migration).version) {
      throw new SinkError(SinkErrorCode.MIGRATION_FILE, `two migrations share version ${(migrations[i] as Migration).version}`)
    }
  }
  return migrations
}

/** " ON CLUSTER '<name>'" (quoted, escaped), or "" on a single node. */
export function onClusterClause(cluster: string | null | undefined): string {
  return cluster ? ` ON CLUSTER '${cluster.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : ''
}

/** Renders a migration's SQL for a variant and splits it into statements. */
export function renderStatements(sql: string, variant: MigrationVariant): string[] {
  const onCluster = onClusterClause(variant.cluster)
  const cluster = variant.cluster
  const rendered = sql
    .replace(/\{\{ON_CLUSTER\}\}/g, onCluster)
    .replace(/\{\{LOCAL (\w+)\}\}/g, (_, name: string) => (cluster ? `${name}_local` : name))
    .replace(/\{\{DISTRIBUTED (\w+) (\w+)\}\}/g, (_, name: string, shardKey: string) =>
      cluster ? `CREATE TABLE IF NOT EXISTS ${name}${onCluster} AS ${name}_local ENGINE = Distributed('${cluster}', currentDatabase(), ${name}_local, cityHash64(${shardKey}))` : '',
    )
    .replace(/\{\{DISTRIBUTED_ADD_COLUMN (\w+) (\w+) ([^}]+)\}\}/g, (_, name: string, column: string, type: string) =>
      cluster ? `ALTER TABLE ${name}${onCluster} ADD COLUMN IF NOT EXISTS ${column} ${type}` : '',
    )
    .replace(/\{\{DISTRIBUTED_ALTER (\w+) ([^}]+)\}\}/g, (_, name: string, clauses: string) => (cluster ? `ALTER TABLE ${name}${onCluster} ${clauses}` : ''))
    .replace(/\{\{(\w*MergeTree)\}\}/g, (_, engine: string) => (variant.cluster ? `Replicated${engine}` : engine))
  if (/\{\{[^}]*\}\}/.test(rendered)) throw new SinkError(SinkErrorCode.MIGRATION_FILE, `unknown template token in migration: ${/\{\{[^}]*\}\}/.exec(rendered)?.[0]}`)
  const withoutComments = rendered
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

export interface MigrateResult {
  readonly applied: readonly Migration[]
  readonly skipped: readonly Migration[]
}

interface AppliedRow {
  version: number
  name: string
  checksum: string
}

/** The versions already applied, with their checksums. */
export async function appliedMigrations(ch: ClickHouse): Promise<Map<number, AppliedRow>> {
  // A database never migrated has no ledger yet: that is "nothing applied", not an error.
  const exists = await ch.client.query({ query: 'SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = {t:String}', query_params: { t: TABLE }, format: 'JSONEachRow' })
  const [row] = await exists.json<{ n: number | string }>()
  if (Number(row?.n ?? 0) === 0) return new Map()
  const rs = await ch.client.query({ query: `SELECT version, name, checksum FROM ${TABLE} FINAL ORDER BY version`, format: 'JSONEachRow' })
  const rows = await rs.json<AppliedRow>()
  return new Map(rows.map((r) => [Number(r.version), r]))
}

/**
 * Applies every migration not yet recorded, in order. Idempotent: a second run applies nothing.
 * Refuses to continue when an applied migration's file has changed since (add a new one instead).
 */
export async function migrate(
  ch: ClickHouse,
  options: { variant?: MigrationVariant; log?: Logger; migrations?: readonly Migration[] } = {},
): Promise<MigrateResult> {
  const variant = options.variant ?? { cluster: null }
  const migrations = options.migrations ?? loadMigrations()
  const engine = variant.cluster ? 'ReplicatedReplacingMergeTree' : 'ReplacingMergeTree'
  const onCluster = onClusterClause(variant.cluster)
  await ch.client.command({
    query: `CREATE TABLE IF NOT EXISTS ${TABLE}${onCluster} (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ${engine} ORDER BY version`,
  })
  const applied = await appliedMigrations(ch)
  const done: Migration[] = []
  const skipped: Migration[] = []
  for (const m of migrations) {
    const previous = applied.get(m.version)
    if (previous) {
      if (previous.checksum !== m.checksum) {
        throw new SinkError(
          SinkErrorCode.MIGRATION_CHANGED,
          `migration ${m.version}_${m.name} changed after it was applied (checksum ${previous.checksum} → ${m.checksum}); restore it and add a new migration instead`,
        )
      }
      skipped.push(m)
      continue
    }
    for (const statement of renderStatements(m.sql, variant)) {
      try {
        await ch.client.command({ query: statement })
      } catch (err) {
        throw new SinkError(SinkErrorCode.MIGRATION_FAILED, `migration ${m.version}_${m.name} failed: ${(err as Error).message}\n${statement}`, {
          cause: err,
          context: { version: m.version },
        })
      }
    }
    await ch.client.insert({ table: TABLE, values: [{ version: m.version, name: m.name, checksum: m.checksum }], format: 'JSONEachRow' })
    options.log?.info({ version: m.version, name: m.name }, 'migration applied')
    done.push(m)
  }
  await reloadModifiedViews(ch, done, variant, options.log)
  return { applied: done, skipped }
}

/** The views a migration's statements change in place (`ALTER TABLE <view> … MODIFY QUERY`). */
export function viewsModifiedBy(migrations: readonly Migration[], variant: MigrationVariant): string[] {
  const views = new Set<string>()
  for (const m of migrations) {
    for (const statement of renderStatements(m.sql, variant)) {
      const hit = /^\s*ALTER\s+TABLE\s+([`"\w.]+)(?:\s+ON\s+CLUSTER\s+\S+)?\s+MODIFY\s+QUERY\b/i.exec(statement)
      if (hit) views.add(hit[1] as string)
    }
  }
  return [...views]
}

/**
 * A view changed in place by MODIFY QUERY keeps, in the process that changed it, other
 * deduplication tokens for its blocks than the same view loaded from disk (verified on the
 * embedded engine: a flush inserted right after migration 0009 and replayed by the next process
 * landed twice in products_minute and its rollups, every other cube dropping the replay). A
 * worker that migrates and then inserts would so count a replayed flush twice. On the embedded
 * engine nothing else inserts while this process migrates: the views are detached and attached
 * again, which leaves them as any later process loads them. A server may have other workers
 * inserting, whose blocks would skip a detached view: there the operator is told instead.
 */
async function reloadModifiedViews(ch: ClickHouse, applied: readonly Migration[], variant: MigrationVariant, log?: Logger): Promise<void> {
  const views = viewsModifiedBy(applied, variant)
  if (views.length === 0) return
  if (ch.kind !== 'embedded') {
    log?.warn({ views }, 'views changed in place: until the ClickHouse server restarts, their blocks carry other deduplication tokens than after it, so a flush pending across that restart could count twice in their cubes; restart the server before workers resume (or migrate with the workers stopped and restart it then)')
    return
  }
  for (const view of views) {
    await ch.client.command({ query: `DETACH TABLE ${view}` })
    await ch.client.command({ query: `ATTACH TABLE ${view}` })
  }
  log?.info({ views }, 'views changed in place reloaded, so their deduplication tokens are those every later process computes')
}

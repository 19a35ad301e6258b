import type { Command } from 'commander'
import { appliedMigrations, connectClickHouse, loadMigrations, migrate, renderStatements } from '../../sinks/index.js'
import type { CliContext } from '../context.js'

export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('Apply the ClickHouse migrations in sql/migrations that are not applied yet (idempotent)')
    .option('--clickhouse-url <url>', 'ClickHouse server (env CLICKHOUSE_URL); without it, the embedded engine')
    .option('--data-dir <dir>', 'embedded engine data directory (env STREAMCUBE_DATA_DIR)')
    .option('--database <name>', 'database (env CLICKHOUSE_DATABASE, default streamcube)')
    .option('--cluster <name>', 'apply the cluster variant: Replicated* engines, ON CLUSTER (env CLICKHOUSE_CLUSTER)')
    .option('--print', 'print the SQL of the variant instead of applying it')
    .option('--status', 'list migrations and whether each is applied')
    .action(async (opts: { clickhouseUrl?: string; dataDir?: string; database?: string; cluster?: string; print?: boolean; status?: boolean }) => {
      const config = ctx.config({ 'clickhouse.url': opts.clickhouseUrl, 'clickhouse.dataDir': opts.dataDir, 'clickhouse.database': opts.database, 'clickhouse.cluster': opts.cluster })
      const variant = { cluster: config.clickhouse.cluster }
      if (opts.print) {
        for (const m of loadMigrations()) {
          ctx.print(`-- ${String(m.version).padStart(4, '0')}_${m.name} (${variant.cluster ? `cluster ${variant.cluster}` : 'single node'})`)
          for (const s of renderStatements(m.sql, variant)) ctx.print(`${s};\n`)
        }
        return
      }
      const ch = await connectClickHouse(config.clickhouse, { application: 'streamcube-migrate' })
      try {
        if (opts.status) {
          await migrate(ch, { variant, migrations: [] })
          const applied = await appliedMigrations(ch)
          for (const m of loadMigrations()) ctx.print(`${String(m.version).padStart(4, '0')}_${m.name}  ${applied.has(m.version) ? 'applied' : 'pending'}`)
          return
        }
        const result = await migrate(ch, { variant, log: ctx.log.child({ module: 'migrate' }) })
        ctx.print(`${ch.kind} ClickHouse, database ${ch.database}: ${result.applied.length} applied, ${result.skipped.length} already applied`)
        for (const m of result.applied) ctx.print(`  applied ${String(m.version).padStart(4, '0')}_${m.name}`)
      } finally {
        await ch.close()
      }
    })
}

import type { Command } from 'commander'
import { JobError } from '../../jobs/index.js'
import { rebuildCube, REBUILDABLE } from '../../jobs/index.js'
import { connectClickHouse, migrate } from '../../sinks/index.js'
import type { CliContext } from '../context.js'

/** An ISO date (UTC midnight) or date-time, or epoch milliseconds; a usage error names the flag otherwise. */
export function parseTime(flag: string, value: string, ctx: CliContext): number {
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value)
  if (!Number.isFinite(t)) return ctx.usageError(`${flag} ${JSON.stringify(value)} is not a time: use an ISO date (2026-11-01), date-time (2026-11-01T08:00:00Z) or epoch milliseconds`)
  return t
}

export function registerRebuild(program: Command, ctx: CliContext): void {
  program
    .command('rebuild')
    .description('Recompute a cube over a time range from the raw fact tables (widened to whole UTC days)')
    .argument('<cube>', `one of ${REBUILDABLE.map((c) => c.name).join(', ')}`)
    .requiredOption('--from <time>', 'start (inclusive): ISO date or date-time, UTC, or epoch ms')
    .requiredOption('--to <time>', 'end (exclusive)')
    .option('--force', 'rebuild even where live pipelines may still write (inside the allowed lateness)')
    .option('--clickhouse-url <url>', 'ClickHouse server (env CLICKHOUSE_URL); without it, the embedded engine')
    .option('--data-dir <dir>', 'embedded engine data directory (env STREAMCUBE_DATA_DIR)')
    .option('--database <name>', 'database (env CLICKHOUSE_DATABASE, default streamcube)')
    .action(async (name: string, opts: { from: string; to: string; force?: boolean; clickhouseUrl?: string; dataDir?: string; database?: string }) => {
      const config = ctx.config({ 'clickhouse.url': opts.clickhouseUrl, 'clickhouse.dataDir': opts.dataDir, 'clickhouse.database': opts.database })
      const from = parseTime('--from', opts.from, ctx)
      const to = parseTime('--to', opts.to, ctx)
      const ch = await connectClickHouse(config.clickhouse, { application: 'streamcube-rebuild' })
      try {
        await migrate(ch, { variant: { cluster: config.clickhouse.cluster }, log: ctx.log.child({ module: 'migrate' }) })
        const closedBefore = Date.now() - config.engine.allowedLatenessMs - config.engine.outOfOrdernessMs
        const r = await rebuildCube({ ch, cube: name, from, to, closedBefore, force: opts.force, cluster: config.clickhouse.cluster, log: ctx.log.child({ module: 'rebuild' }) })
        ctx.print(`rebuilt ${r.cube} from ${new Date(r.from).toISOString()} to ${new Date(r.to).toISOString()}: ${r.events} raw events → ${r.rows} minute rows (hour and day rollups refilled)`)
      } catch (err) {
        if (err instanceof JobError) return ctx.usageError(err.message)
        throw err
      } finally {
        await ch.close()
      }
    })
}

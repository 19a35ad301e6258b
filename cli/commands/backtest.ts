import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import { accuracyTable, evaluateSeries, loadRestockSeries, restockSettings, type SeriesEvaluation } from '../../jobs/index.js'
import { fillPlantedDemand } from '../../generator/index.js'
import { localDateOf, localMidnight } from '../../schemas/index.js'
import { connectClickHouse, migrate } from '../../sinks/index.js'
import { positiveInt } from '../options.js'
import type { CliContext } from '../context.js'
import { parseTime } from './rebuild.js'

const HOUR = 3_600_000

export function registerBacktest(program: Command, ctx: CliContext): void {
  program
    .command('backtest')
    .description('Out-of-sample accuracy of the restock forecast: MAE, MAPE and MASE per model and for the per-series choice, against seasonal-naive')
    .option('--generate <days>', 'measure on freshly generated data with a planted weekly pattern (a temporary embedded database), not the configured one', positiveInt('--generate'))
    .option('--growth <perDay>', 'with --generate: planted demand growth per day (0.01 = +1 %)', '0.005')
    .option('--seed <n>', 'with --generate: random seed', positiveInt('--seed'), 5)
    .option('--at <time>', 'as of (default: now, or the end of the generated data)')
    .option('--origins <n>', 'evaluation origins, one day apart, before --at', positiveInt('--origins'), 7)
    .option('--clickhouse-url <url>', 'ClickHouse server (env CLICKHOUSE_URL); without it, the embedded engine')
    .option('--data-dir <dir>', 'embedded engine data directory (env STREAMCUBE_DATA_DIR)')
    .action(async (opts: { generate?: number; growth: string; seed: number; at?: string; origins: number; clickhouseUrl?: string; dataDir?: string }) => {
      const growth = Number(opts.growth)
      if (!Number.isFinite(growth) || growth < -0.02 || growth > 0.05) return ctx.usageError(`--growth ${JSON.stringify(opts.growth)}: use a number from -0.02 to 0.05`)
      const tempDir = opts.generate ? mkdtempSync(join(tmpdir(), 'streamcube-backtest-')) : undefined
      const config = ctx.config({ 'clickhouse.url': tempDir ? null : opts.clickhouseUrl, 'clickhouse.dataDir': tempDir ?? opts.dataDir })
      const settings = restockSettings(config)
      const ch = await connectClickHouse(config.clickhouse, { application: 'streamcube-backtest' })
      try {
        let at = opts.at ? parseTime('--at', opts.at, ctx) : Date.now()
        if (opts.generate) {
          await migrate(ch, { log: ctx.log.child({ module: 'migrate' }) })
          // Whole local days: the data ends at the local midnight before --at (or now), and the
          // history the forecast sees is every generated day.
          const end = localMidnight(at, settings.timezone)
          const started = Date.now()
          const events = await fillPlantedDemand(ch, { days: opts.generate, end, seed: opts.seed, growthPerDay: growth }, ctx.log.child({ module: 'generator' }))
          ctx.print(`generated ${opts.generate} days with a planted weekly pattern (growth ${growth}/day): ${events.toLocaleString('en-US')} events through the inventory and products pipelines in ${((Date.now() - started) / 1000).toFixed(1)} s`)
          at = end + settings.runHour * HOUR
        }
        const { runDate, series } = await loadRestockSeries(ch, { ...settings, historyDays: opts.generate ?? settings.historyDays }, at)
        const started = Date.now()
        const evaluations: SeriesEvaluation[] = evaluateSeries(series.map((s) => s.history), { horizon: settings.horizonDays, folds: settings.backtestFolds, origins: opts.origins })
        const picks: Record<string, number> = {}
        for (const ev of evaluations) for (const p of ev.picks) picks[p] = (picks[p] ?? 0) + 1
        ctx.print(`restock backtest as of ${runDate} (${settings.timezone}): ${evaluations.length} of ${series.length} warehouse × sku series long enough, ${opts.origins} evaluation origins × ${settings.horizonDays}-day horizon; the choice backtests ${settings.backtestFolds} folds on each origin's history of every series and picks the run's model (chosen; per_series: each series' own winner) (${((Date.now() - started) / 1000).toFixed(1)} s)`)
        const f = (v: number | null, d = 2) => (v === null ? '–' : v.toFixed(d))
        ctx.print(`${'forecaster'.padEnd(16)}${'series'.padStart(8)}${'MAE'.padStart(9)}${'MAPE %'.padStart(9)}${'MASE'.padStart(8)}${'MAE/snaive'.padStart(12)}`)
        for (const r of accuracyTable(evaluations)) {
          ctx.print(`${r.forecaster.padEnd(16)}${String(r.series).padStart(8)}${f(r.mae).padStart(9)}${f(r.mape, 1).padStart(9)}${f(r.mase, 3).padStart(8)}${f(r.relativeMae).padStart(12)}`)
        }
        ctx.print(`picked by the run's choice (series × origins): ${Object.entries(picks).sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${n}`).join(', ') || 'nothing'}`)
        ctx.print('MASE: mean absolute error / in-sample mean absolute error of "same weekday last week" (below 1 beats it); MAPE over days with sales; MAE/snaive: total absolute error relative to seasonal-naive on the same days.')
        if (!opts.generate) ctx.print(`data as of ${localDateOf(at, settings.timezone)}: the configured database`)
      } finally {
        await ch.close()
        if (tempDir) rmSync(tempDir, { recursive: true, force: true })
      }
    })
}

import { createServer } from 'node:http'
import type { Command } from 'commander'
import { createWorker, defaultGroupId, EngineMetrics } from '../../engine/index.js'
import { evaluatorFromConfig, restockSettings, runRestock, runRestockDaily } from '../../jobs/index.js'
import { PipelineError, PIPELINES, selectPipelines } from '../../pipelines/index.js'
import { requireBrokers, SOURCE_SPEC_HELP } from '../../schemas/index.js'
import { connectClickHouse, migrate } from '../../sinks/index.js'
import type { CliContext } from '../context.js'
import { parseTime } from './rebuild.js'

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('pipelines')
    .description('List the pipelines: what each reads and writes')
    .action(() => {
      for (const p of PIPELINES) ctx.print(`${p.name.padEnd(10)} reads ${p.sources.join(', ').padEnd(28)} writes ${p.tables.join(', ')}\n${''.padEnd(10)} ${p.description}`)
    })
  program
    .command('run')
    .description('Run stream pipelines (all, or the named ones) in this process, as one consumer group; `run alerts` runs the alert evaluator; `run restock` the restock forecast once (--daily: every day)')
    .argument('[pipelines...]', `pipeline names (${PIPELINES.map((p) => p.name).join(', ')}), or alerts, or restock; all stream pipelines when omitted`)
    .option('--brokers <list>', 'host:port[,host:port] (env KAFKA_BROKERS)')
    .option('--group <id>', 'consumer group (env KAFKA_GROUP_ID; default streamcube, or streamcube.<names> for a subset)')
    .option('--clickhouse-url <url>', 'ClickHouse server (env CLICKHOUSE_URL); without it, the embedded engine')
    .option('--data-dir <dir>', 'embedded engine data directory (env STREAMCUBE_DATA_DIR)')
    .option('--encoding <encoding>', 'json or confluent-avro (env STREAMCUBE_ENCODING)')
    .option('--topic-prefix <prefix>', 'topic prefix (env KAFKA_TOPIC_PREFIX)')
    .option(
      '--source <spec>',
      `where a stream comes from: ${SOURCE_SPEC_HELP}; repeatable, a stream may have several (env STREAMCUBE_SOURCES, comma-separated). A stream without one reads <prefix>behaviour, <prefix>orders or <prefix>inventory in --encoding`,
      (spec: string, specs: string[] | undefined) => [...(specs ?? []), spec],
    )
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (env METRICS_PORT)')
    .addHelpText('after', '\nExamples:\n  streamcube run facts gmv activity\n  streamcube run gmv lifecycle --source order=debezium:shop.shop.orders            # orders from a Debezium topic of the orders table\n  streamcube run --source order=json:streamcube.orders --source order=canal:shop_orders   # the app topic and Canal both')
    .option('--daily', 'restock: keep running, once a day at RESTOCK_RUN_HOUR')
    .option('--at <time>', 'restock: forecast as of this time (default now)')
    .action(async (names: string[], opts: { brokers?: string; group?: string; clickhouseUrl?: string; dataDir?: string; encoding?: string; topicPrefix?: string; source?: string[]; metricsPort?: string; daily?: boolean; at?: string }) => {
      const config = ctx.config({
        'kafka.brokers': opts.brokers,
        'engine.groupId': opts.group,
        'clickhouse.url': opts.clickhouseUrl,
        'clickhouse.dataDir': opts.dataDir,
        encoding: opts.encoding,
        'kafka.topicPrefix': opts.topicPrefix,
        sources: opts.source,
        metricsPort: opts.metricsPort,
      })
      if (names.length === 1 && names[0] === 'alerts') return runAlerts(ctx, config)
      if (names.length === 1 && names[0] === 'restock') return runRestockCommand(ctx, config, opts)
      if (names.includes('restock')) return ctx.usageError('run restock on its own: `streamcube run restock` (the forecast reads the cubes, not Kafka)')
      if (names.includes('alerts')) return ctx.usageError('run alerts on its own: `streamcube run alerts` (the evaluator reads the cubes, not Kafka)')
      const brokers = requireBrokers(config)
      let pipelines
      try {
        pipelines = selectPipelines(names)
      } catch (err) {
        if (err instanceof PipelineError) return ctx.usageError(err.message)
        throw err
      }
      const log = ctx.log
      const ch = await connectClickHouse(config.clickhouse, { application: 'streamcube-worker', log: log.child({ module: 'clickhouse' }) })
      await migrate(ch, { variant: { cluster: config.clickhouse.cluster }, log: log.child({ module: 'migrate' }) })
      // A flush spreads its table inserts over these (one statement at a time per embedded session).
      const extraConnections = await Promise.all(Array.from({ length: config.engine.sinkConnections - 1 }, () => connectClickHouse(config.clickhouse, { application: 'streamcube-worker' })))
      const metrics = new EngineMetrics(true)
      const groupId = config.engine.groupId ?? defaultGroupId(pipelines, PIPELINES)
      const worker = createWorker({ config, brokers, pipelines, groupId, ch, extraConnections, log, metrics })
      const server = config.metricsPort === null ? undefined : createServer((req, res) => {
        if (req.url !== '/metrics') return void res.writeHead(404).end()
        void metrics.registry.metrics().then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body))
      }).listen(config.metricsPort)
      // A stop resolves to the exit code: 0 when everything was flushed and committed, 1 when the
      // stop failed or ran out of STOP_TIMEOUT_MS (the partitions' next owner replays the rest).
      let stopped!: (code: Promise<number>) => void
      const stopRequested = new Promise<Promise<number>>((resolve) => (stopped = resolve))
      let stopping = false
      const stop = () => {
        log.info('SIGTERM/SIGINT: flushing, committing and leaving the group')
        stopping = true
        stopped(worker.stop().then(() => 0, () => 1))
      }
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
      let code = 0
      try {
        code = await Promise.race([worker.run().then(() => 0), stopRequested.then((c) => c)])
      } catch (err) {
        if (!stopping) throw err
        code = 1 // the failed stop said why
      } finally {
        server?.close()
        // Closing may wait on an insert the stop gave up on: bounded, the process exits regardless.
        await Promise.race([Promise.allSettled([...extraConnections, ch].map((c) => c.close())), new Promise((r) => setTimeout(r, 5_000).unref())])
      }
      if (code !== 0) process.exit(code)
    })
}

/** `streamcube run alerts`: the alert evaluator until SIGTERM/SIGINT (several may run; each notification is sent once). */
async function runAlerts(ctx: CliContext, config: ReturnType<CliContext['config']>): Promise<void> {
  const log = ctx.log
  const ch = await connectClickHouse(config.clickhouse, { application: 'streamcube-alerts' })
  await migrate(ch, { variant: { cluster: config.clickhouse.cluster }, log: log.child({ module: 'migrate' }) })
  const evaluator = evaluatorFromConfig(config, ch, log)
  await evaluator.syncRulesFile() // a bad rule file stops start-up
  const abort = new AbortController()
  const stop = () => abort.abort()
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  log.info({ intervalMs: config.alerts.intervalMs }, 'alert evaluator running')
  try {
    await evaluator.run(abort.signal)
  } finally {
    await ch.close()
  }
}

/** `streamcube run restock`: the restock forecast once, as of now or --at; with --daily every day until SIGTERM/SIGINT. */
async function runRestockCommand(ctx: CliContext, config: ReturnType<CliContext['config']>, opts: { daily?: boolean; at?: string }): Promise<void> {
  if (opts.daily && opts.at) return ctx.usageError('--at and --daily do not go together: --daily runs as of each day')
  const at = opts.at ? parseTime('--at', opts.at, ctx) : Date.now()
  const log = ctx.log.child({ module: 'restock' })
  const ch = await connectClickHouse(config.clickhouse, { application: 'streamcube-restock' })
  try {
    await migrate(ch, { variant: { cluster: config.clickhouse.cluster }, log: ctx.log.child({ module: 'migrate' }) })
    const settings = restockSettings(config)
    if (opts.daily) {
      const abort = new AbortController()
      const stop = () => abort.abort()
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
      log.info({ runHour: settings.runHour, timezone: settings.timezone }, 'restock forecast running daily')
      return await runRestockDaily(ch, settings, { log, signal: abort.signal })
    }
    const r = await runRestock(ch, settings, { at, log })
    const suggested = r.rows.filter((x) => x.suggested_qty > 0)
    const mase = (v: number | null) => (v === null ? '–' : v.toFixed(2))
    ctx.print(`restock ${r.runDate}: ${r.rows.length} warehouse × sku series in ${r.durationMs} ms; models ${Object.entries(r.models).map(([m, n]) => `${m} ${n}`).join(', ') || 'none'}; backtest MASE ${mase(r.meanMase)} (seasonal-naive ${mase(r.baselineMeanMase)}); ${suggested.length} orders suggested, ${suggested.reduce((s, x) => s + x.suggested_qty, 0)} units`)
  } finally {
    await ch.close()
  }
}

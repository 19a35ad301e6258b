import { createServer } from 'node:http'
import type { Command } from 'commander'
import { createWorker, defaultGroupId, EngineError, EngineMetrics, evaluatorFromConfig, PIPELINES, selectPipelines } from '../../../pipelines/index.js'
import { requireBrokers } from '../../../schemas/index.js'
import { connectClickHouse, migrate } from '../../../sinks/index.js'
import type { CliContext } from '../context.js'

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('pipelines')
    .description('List the pipelines: what each reads and writes')
    .action(() => {
      for (const p of PIPELINES) ctx.print(`${p.name.padEnd(10)} reads ${p.sources.join(', ').padEnd(28)} writes ${p.tables.join(', ')}\n${''.padEnd(10)} ${p.description}`)
    })
  program
    .command('run')
    .description('Run stream pipelines (all, or the named ones) in this process, as one consumer group; `run alerts` runs the alert evaluator')
    .argument('[pipelines...]', `pipeline names (${PIPELINES.map((p) => p.name).join(', ')}), or alerts; all stream pipelines when omitted`)
    .option('--brokers <list>', 'host:port[,host:port] (env KAFKA_BROKERS)')
    .option('--group <id>', 'consumer group (env KAFKA_GROUP_ID; default streamcube, or streamcube.<names> for a subset)')
    .option('--clickhouse-url <url>', 'ClickHouse server (env CLICKHOUSE_URL); without it, the embedded engine')
    .option('--data-dir <dir>', 'embedded engine data directory (env STREAMCUBE_DATA_DIR)')
    .option('--encoding <encoding>', 'json or confluent-avro (env STREAMCUBE_ENCODING)')
    .option('--topic-prefix <prefix>', 'topic prefix (env KAFKA_TOPIC_PREFIX)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (env METRICS_PORT)')
    .action(async (names: string[], opts: { brokers?: string; group?: string; clickhouseUrl?: string; dataDir?: string; encoding?: string; topicPrefix?: string; metricsPort?: string }) => {
      const config = ctx.config({
        'kafka.brokers': opts.brokers,
        'engine.groupId': opts.group,
        'clickhouse.url': opts.clickhouseUrl,
        'clickhouse.dataDir': opts.dataDir,
        encoding: opts.encoding,
        'kafka.topicPrefix': opts.topicPrefix,
        metricsPort: opts.metricsPort,
      })
      if (names.length === 1 && names[0] === 'alerts') return runAlerts(ctx, config)
      if (names.includes('alerts')) return ctx.usageError('run alerts on its own: `streamcube run alerts` (the evaluator reads the cubes, not Kafka)')
      const brokers = requireBrokers(config)
      let pipelines
      try {
        pipelines = selectPipelines(names)
      } catch (err) {
        if (err instanceof EngineError) return ctx.usageError(err.message)
        throw err
      }
      const log = ctx.log
      const ch = await connectClickHouse(config.clickhouse, { application: 'streamcube-worker' })
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
      let stopping: Promise<void> | undefined
      const stop = () => {
        log.info('SIGTERM/SIGINT: flushing, committing and leaving the group')
        stopping ??= worker.stop()
      }
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
      try {
        await Promise.race([worker.run(), new Promise<void>((resolve) => {
          const wait = () => (stopping ? stopping.then(resolve) : setTimeout(wait, 100))
          wait()
        })])
      } finally {
        server?.close()
        for (const c of extraConnections) await c.close()
        await ch.close()
      }
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

import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { buildApi, openQuerySessions } from '../../api/index.js'
import { EngineMetrics, policyFor } from '../../engine/index.js'
import { evaluatorFromConfig, restockSettings, runRestockDaily } from '../../jobs/index.js'
import { baselineWeek, cityFrame, EventGenerator, fillBaselineWeeks, runGeneratorSource, type OpeningBatch } from '../../generator/index.js'
import { PIPELINES } from '../../pipelines/index.js'
import { connectClickHouse, migrate, payloadPool, type ClickHouse } from '../../sinks/index.js'
import { positiveInt } from '../options.js'
import type { CliContext } from '../context.js'

/** The example alert rules `npm start` loads when ALERT_RULES_FILE is not set (copied next to the compiled CLI). */
export const EXAMPLE_RULES_FILE = fileURLToPath(new URL('../examples/alert-rules.yaml', import.meta.url))

/** The demo's pipelines publish their watermarks as this group (freshness, alert windows). */
const DEMO_GROUP = 'streamcube-demo'
/** How far past the start the demo generates its baseline weeks: the dynamic example rule has a baseline for this long. */
const BASELINE_AHEAD_MS = 6 * 3_600_000

/**
 * For each range [from, to) (ms), the latest event time the demo's city has in the raw facts there,
 * or null; one scan for all of them. The city is generated in event-time order, so everything
 * before that time was generated and flushed.
 */
async function generatedUntil(ch: ClickHouse, ranges: readonly (readonly [number, number])[]): Promise<(number | null)[]> {
  const within = (i: number) => `t >= fromUnixTimestamp64Milli({f${i}:Int64}) AND t < fromUnixTimestamp64Milli({t${i}:Int64})`
  const rs = await ch.client.query({
    query: `SELECT ${ranges.map((_, i) => `toUnixTimestamp64Milli(maxIf(t, ${within(i)})) AS r${i}, countIf(${within(i)}) AS n${i}`).join(', ')}
            FROM (SELECT event_time AS t FROM behaviour_events UNION ALL SELECT event_time FROM order_events)`,
    query_params: Object.fromEntries(ranges.flatMap(([from, to], i) => [[`f${i}`, from], [`t${i}`, to]])),
    format: 'JSONEachRow',
  })
  const row = (await rs.json<Record<string, string>>())[0] ?? {}
  return ranges.map((_, i) => (Number(row[`n${i}`] ?? 0) > 0 ? Number(row[`r${i}`]) : null))
}

/** The batches on hand in the inventory cube, oldest first per warehouse and sku (a resumed city's opening stock). */
async function batchesOnHand(ch: ClickHouse): Promise<OpeningBatch[]> {
  const rs = await ch.client.query({
    query: `SELECT warehouse_id, sku, batch_id, toInt64(sum(received)) - toInt64(sum(sold)) - toInt64(sum(lost)) AS qty,
                   toString(max(production_date)) AS production_date, toString(max(expiry_date)) AS expiry_date
            FROM inventory_batches
            GROUP BY warehouse_id, sku, batch_id
            HAVING qty > 0 AND production_date != '' AND expiry_date != ''
            ORDER BY warehouse_id, sku, production_date, batch_id`,
    format: 'JSONEachRow',
  })
  return (await rs.json<{ warehouse_id: string; sku: string; batch_id: string; qty: string; production_date: string; expiry_date: string }>()).map((r) => ({
    warehouseId: r.warehouse_id, sku: r.sku, batchId: r.batch_id, qty: Number(r.qty), productionDate: r.production_date, expiryDate: r.expiry_date,
  }))
}

/** A stop step that takes longer than this is named in the log, so a stop that hangs says what it waits on. */
const SLOW_STOP_STEP_MS = 5_000

async function stopStep(log: CliContext['log'], what: string, fn: () => Promise<unknown>): Promise<void> {
  const slow = setTimeout(() => log.warn({ step: what }, `stopping: still waiting for ${what}`), SLOW_STOP_STEP_MS)
  try {
    await fn()
  } finally {
    clearTimeout(slow)
  }
}

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('The whole flow in one process on the embedded default: generator → pipelines → ClickHouse cubes → API and page (npm start)')
    .option('--port <port>', 'API port (env API_PORT, default 8080)')
    .option('--host <host>', 'API interface (env API_HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'embedded engine data directory (env STREAMCUBE_DATA_DIR)')
    .option('--clickhouse-url <url>', 'use a ClickHouse server instead of the embedded engine (env CLICKHOUSE_URL)')
    .option('--backfill-minutes <n>', 'minutes of history to generate before going live', positiveInt('--backfill-minutes'), 120)
    .option('--duration <seconds>', 'stop after this many seconds (default: until Ctrl-C)', positiveInt('--duration'))
    .option('--seed <n>', 'random seed', positiveInt('--seed'), 42)
    .action(async (opts: { port?: string; host?: string; dataDir?: string; clickhouseUrl?: string; backfillMinutes: number; duration?: number; seed: number }) => {
      // The demo's page must work without a key: unless keys are configured or anonymous reads
      // were set explicitly, requests without a key read as an analyst (all data, PII masked).
      const keyless = !process.env.API_KEYS && !process.env.API_KEYS_FILE && !process.env.API_ANONYMOUS_ROLE
      const start = Date.now()
      const base = ctx.config({ 'api.port': opts.port, 'api.host': opts.host, 'clickhouse.dataDir': opts.dataDir, 'clickhouse.url': opts.clickhouseUrl, ...(keyless ? { 'api.anonymousRole': 'analyst' } : {}) })
      // The generated city's map frame (districts, communities) for the heatmap, unless one is configured
      // (the city's places depend on the seed only).
      const city = new EventGenerator({ seed: opts.seed, start })
      let frameFile = base.api.geoFrameFile
      if (!frameFile) {
        frameFile = join(dirname(resolve(base.clickhouse.dataDir)), 'city-frame.geojson')
        mkdirSync(dirname(frameFile), { recursive: true })
        writeFileSync(frameFile, JSON.stringify(cityFrame(city.world)))
      }
      const rulesFile = base.alerts.rulesFile ?? EXAMPLE_RULES_FILE
      const config = { ...base, api: { ...base.api, geoFrameFile: frameFile }, alerts: { ...base.alerts, rulesFile } }
      const log = ctx.log
      if (keyless) log.warn('no API keys configured: requests without a key read as an analyst (PII masked); set API_KEYS_FILE for real keys')
      // Two connections: the pipelines' sink and the API each get their own session (on the
      // embedded engine, settings are per session and a session runs one statement at a time).
      const ch = await connectClickHouse(config.clickhouse, { application: 'streamcube-demo', log: log.child({ module: 'clickhouse' }) })
      const apiCh = await connectClickHouse(config.clickhouse, { application: 'streamcube-api' })
      const extraConnections = await Promise.all(Array.from({ length: config.engine.sinkConnections - 1 }, () => connectClickHouse(config.clickhouse, { application: 'streamcube-demo' })))
      await migrate(ch, { log: log.child({ module: 'migrate' }) })
      // A restart on the same data directory goes on from where the last run's city stopped
      // instead of generating the backfill's hours again (which would count them twice).
      const backfillFrom = start - opts.backfillMinutes * 60_000
      const baselineTo = start + BASELINE_AHEAD_MS
      // Where the city stopped, and where each baseline week back stopped (weeks 1 and 2).
      const [reached = null, ...weeksFilled] = await generatedUntil(ch, [[0, start], ...[1, 2].map((k) => baselineWeek(k, backfillFrom, baselineTo))])
      const from = reached !== null && reached >= backfillFrom ? reached + 1 : backfillFrom
      if (from > backfillFrom) ctx.print(`resuming the city after ${new Date(reached as number).toISOString()}, where the last run on this data directory stopped`)
      // Each run's ids name its start, so a resumed city's orders never merge with the last run's.
      const run = start.toString(36)
      // Its warehouses go on from the batches any earlier run left on hand, however long ago (a
      // fresh receipt for every sku would double the stock; expired ones are written off at night).
      const onHand = reached !== null ? await batchesOnHand(ch) : []
      const openingStock = onHand.length > 0 ? onHand : undefined
      const generator = new EventGenerator({ seed: opts.seed, run, start: from, openingStock })
      const metrics = new EngineMetrics()
      // The pipelines' insert payloads are pooled up to PAYLOAD_POOL_BYTES, as a Kafka worker's (createWorker).
      payloadPool.resize(config.engine.payloadPoolBytes)
      const querySessions = await openQuerySessions(config, apiCh)
      const app = await buildApi({ ch: apiCh, querySessions, log, config, metricsRegistries: [metrics.registry] })
      const address = await app.listen({ port: config.api.port, host: config.api.host })
      ctx.print(`streamcube demo: ${ch.kind} ClickHouse (${ch.kind === 'embedded' ? config.clickhouse.dataDir : config.clickhouse.url}), pipelines ${PIPELINES.map((p) => p.name).join(', ')}; page and API at ${address}`)

      // The alert evaluator, on its own connection (its own embedded session).
      const alertsCh = await connectClickHouse(config.clickhouse, { application: 'streamcube-alerts' })
      const evaluator = evaluatorFromConfig(config, alertsCh, log)
      await evaluator.syncRulesFile()
      ctx.print(`alert rules from ${rulesFile}${base.alerts.rulesFile ? '' : ' (the examples: set ALERT_RULES_FILE for your own)'}; transitions are logged`)
      const abort = new AbortController()
      const alerts = evaluator.run(abort.signal)
      // The restock forecast, daily, on its own connection; its first run waits for the backfill.
      const restockCh = await connectClickHouse(config.clickhouse, { application: 'streamcube-restock' })
      let restock: Promise<void> = Promise.resolve()
      const startRestock = () => {
        restock = runRestockDaily(restockCh, restockSettings(config), { log: log.child({ module: 'restock' }), signal: abort.signal })
      }
      const stop = () => abort.abort()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      const timer = opts.duration ? setTimeout(stop, opts.duration * 1000) : undefined
      let total = 0
      try {
        // The same hours one and two weeks back, for the dynamic-baseline example rule; after a
        // restart, each week goes on after what an earlier run left there.
        const filledUntil = new Map(weeksFilled.flatMap((filled, i) => (filled === null ? [] : [[i + 1, filled] as const])))
        total += await fillBaselineWeeks({
          seed: opts.seed, run, from: backfillFrom, to: baselineTo, weeks: 2, filledUntil,
          pipelines: PIPELINES, ch, extraConnections, log: log.child({ module: 'generator' }), signal: abort.signal, policy: policyFor(config), watermarkGroup: DEMO_GROUP,
        })
        total += await runGeneratorSource({
          generator,
          pipelines: PIPELINES,
          ch,
          extraConnections,
          log: log.child({ module: 'generator' }),
          signal: abort.signal,
          metrics,
          policy: policyFor(config),
          intervalMs: config.engine.flushIntervalMs,
          onCaughtUp: startRestock,
          watermarkGroup: DEMO_GROUP,
        })
      } finally {
        if (timer) clearTimeout(timer)
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        const step = (what: string, fn: () => Promise<unknown>) => stopStep(log, what, fn)
        await step('the alert evaluator', async () => {
          await alerts
          await alertsCh.close()
        })
        await step('the restock forecast', async () => {
          await restock
          await restockCh.close()
        })
        await step('the API (requests in flight)', () => app.close())
        await step('the ClickHouse sessions', async () => {
          for (const c of [...querySessions, apiCh, ...extraConnections, ch]) await c.close()
        })
      }
      ctx.print(`streamcube demo stopped after ${total.toLocaleString('en-US')} events`)
    })
}

/**
 * Question: how fast does the API answer the dashboard's reports — from the cache, and when every
 * request is a new query the cache cannot answer — and how does that compare with the framework's
 * floor (/health, no query)? And what do API_SESSIONS parallel sessions of the embedded engine buy
 * for new queries over one session (the baseline, a second API on the same data in the same run)? Cubes are filled by the real pipelines (the built-in generator as
 * source) with BENCH_HOURS of data up to now; the API runs on the embedded engine, as in
 * `npm start`; the load comes from a separate process (bench/api-load.ts).
 *
 * Run: npx tsx bench/api.ts   (BENCH_HOURS=24 CONCURRENCY=16 SECONDS=5)
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { buildApi, openQuerySessions } from '../api/index.js'
import { EventGenerator, runGeneratorSource } from '../generator/index.js'
import { PIPELINES } from '../pipelines/index.js'
import { loadConfig } from '../schemas/index.js'
import { connectClickHouse, migrate } from '../sinks/index.js'
import { fmt, machine, writeSection } from './report.js'

const HOURS = Number(process.env.BENCH_HOURS ?? 24)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16)
const SECONDS = Number(process.env.SECONDS ?? 5)
const log = pino({ level: 'silent' })

const dataDir = mkdtempSync(join(tmpdir(), 'bench-api-'))
const ch = await connectClickHouse({ url: null, database: 'bench_api', dataDir })
await migrate(ch)
const end = Math.floor(Date.now() / 60_000) * 60_000
const t0 = performance.now()
const events = await runGeneratorSource({
  generator: new EventGenerator({ seed: 11, start: end - HOURS * 3_600_000 }),
  pipelines: PIPELINES, ch, log, signal: new AbortController().signal, intervalMs: 1, now: () => end, until: end,
})
console.log(`filled ${fmt(events)} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
const [rows] = await (await ch.client.query({ query: 'SELECT (SELECT count() FROM gmv_minute) AS gmv, (SELECT count() FROM products_minute) AS products, (SELECT count() FROM heatmap_minute) AS heatmap', format: 'JSONEachRow' })).json<Record<string, string>>()

const config = loadConfig({ API_ANONYMOUS_ROLE: 'analyst', API_RATE_LIMIT: '100000000', LOG_LEVEL: 'silent', STREAMCUBE_DATA_DIR: dataDir, CLICKHOUSE_DATABASE: 'bench_api' })
const apiCh = await connectClickHouse(config.clickhouse)
const querySessions = await openQuerySessions(config, apiCh)
const app = await buildApi({ ch: apiCh, querySessions, log, config })
const address = await app.listen({ port: 0, host: '127.0.0.1' })
// Baseline: the same API on one session (API_SESSIONS=1), as before sessions were pooled.
const oneCh = await connectClickHouse(config.clickhouse)
const oneApp = await buildApi({ ch: oneCh, log, config })
const oneAddress = await oneApp.listen({ port: 0, host: '127.0.0.1' })

// Asynchronously: the API answering the load lives in this process's event loop.
let run = 0
async function load(path: string, concurrency = CONCURRENCY, base = address): Promise<{ requests: number; rps: number; p50: number; p99: number; statuses: Record<string, number> }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/api-load.ts'], {
    env: { ...process.env, URL: `${base}${path}`, CONCURRENCY: String(concurrency), SECONDS: String(SECONDS), BASE_MS: String(end - 100_000 * run++) }, // runs never share a query
    encoding: 'utf8',
  })
  return JSON.parse(stdout.trim().split('\n').at(-1) as string)
}

const day = `from=${new Date(end - 86_400_000).toISOString()}`
const reports: [string, string][] = [
  ['sales overview, 24 h, by minute', `/v1/sales/overview?${day}&to={i}`],
  ['sales overview, 24 h, per community', `/v1/sales/overview?${day}&to={i}&by=community&granularity=hour`],
  ['product ranking, TOP 10, 24 h', `/v1/products/top?${day}&to={i}`],
  ['group-leader performance, 24 h', `/v1/leaders/performance?${day}&to={i}`],
  ['activity and funnel, 24 h', `/v1/activity?${day}&to={i}`],
  ['heatmap, 24 h, zoom 13', `/v1/heatmap?${day}&to={i}&bbox=-180,-90,180,90&zoom=13`],
  ['time of day, 28 days', `/v1/time-of-day?from=${new Date(end - 28 * 86_400_000).toISOString()}&to={i}`],
]
const health = await load('/health')
console.log('health', health)
const lines = [
  `| request | cached: req/s | cached: p50 / p99 ms | uncached (every request a new query), ${config.api.sessions} sessions: req/s | p50 / p99 ms | uncached, 1 session (baseline): req/s | p50 / p99 ms | uncached, one request at a time: p50 / p99 ms |`,
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  `| /health (baseline: no query) | ${fmt(health.rps)} | ${health.p50.toFixed(1)} / ${health.p99.toFixed(1)} | | | | | |`,
]
for (const [label, path] of reports) {
  const cached = await load(path.replace('{i}', new Date(end).toISOString()))
  const uncached = await load(path)
  const oneSession = await load(path, CONCURRENCY, oneAddress)
  const single = await load(path, 1)
  for (const r of [cached, uncached, oneSession, single]) if (Object.keys(r.statuses).some((s) => s !== '200' && s !== '304')) throw new Error(`${label}: ${JSON.stringify(r.statuses)}`)
  lines.push(`| ${label} | ${fmt(cached.rps)} | ${cached.p50.toFixed(1)} / ${cached.p99.toFixed(1)} | ${fmt(uncached.rps)} | ${uncached.p50.toFixed(1)} / ${uncached.p99.toFixed(1)} | ${fmt(oneSession.rps)} | ${oneSession.p50.toFixed(1)} / ${oneSession.p99.toFixed(1)} | ${single.p50.toFixed(1)} / ${single.p99.toFixed(1)} |`)
  console.log(lines.at(-1))
}
await app.close()
await oneApp.close()
for (const c of querySessions) await c.close()
await oneCh.close()
await apiCh.close()
await ch.close()
rmSync(dataDir, { recursive: true, force: true })

writeSection(
  'api',
  `### API: report latency, cached and uncached

Question: how fast are the dashboard's reports, from the cache and as new queries, next to the framework's floor (/health)?
Command: \`npx tsx bench/api.ts\` (BENCH_HOURS=${HOURS}, ${CONCURRENCY} concurrent connections, ${SECONDS} s per row) — ${machine()}; embedded chDB in the API's process, as in \`npm start\`; load from a separate process.
Data: ${fmt(events)} generated events over ${HOURS} h through the real pipelines; minute cubes: gmv ${fmt(Number(rows?.gmv))} rows, products ${fmt(Number(rows?.products))}, heatmap ${fmt(Number(rows?.heatmap))} (before merges).
"Uncached" moves \`to\` back one millisecond per request: every request is a different query, so each one runs in ClickHouse (and, as \`to\` is then not minute-aligned, on the minute cubes, the heaviest grain). An embedded-engine session runs one statement at a time: the API spreads new queries over ${config.api.sessions} sessions (API_SESSIONS), next to the same API on one session; under ${CONCURRENCY} concurrent new queries latency is mostly queueing either way; the last column is a query's own latency.
Reading the two uncached columns: where they are equal, one query already keeps every core busy (ClickHouse runs a query on max_threads = the cores; a CPU profile of the API under this load showed its main thread 83 % idle, waiting on the engine), so a second session has nothing to run on; sessions pay for reports whose queries split less across cores.

${lines.join('\n')}`,
)

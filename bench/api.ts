/**
 * Question: at a city's scale — 30 days, ≥ 10M events, 500 communities — how fast does the API
 * answer the dashboard's reports from the cache, how fast as new queries the cache cannot answer,
 * and how much do the cubes buy over the same reports computed from the raw fact tables (the
 * baseline, bench/api-raw.ts, in the same run on the same engine and HTTP stack)?
 *
 * Data: the built-in generator through the real pipelines in process (the same processors, cube
 * views and exactly-once flush protocol as the Kafka worker, without the broker hop), every
 * pipeline on, raw facts included. The API runs on the embedded engine as in `npm start`; load
 * comes from a separate process (bench/api-load.ts).
 *
 * Targets (issue 20): cached ≥ 5k requests/s at 50 connections; uncached, one at a time, p99 ≤ 50
 * ms; cube over raw ≥ 20× faster at p50.
 *
 * Run: npx tsx bench/api.ts   (BENCH_DAYS=30 COMMUNITIES=500 SESSIONS_PER_MINUTE=80 CONCURRENCY=50 SECONDS=5)
 * BENCH_DATA_DIR=<dir> keeps the filled engine there and reuses it on the next run (same settings).
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { buildApi, openQuerySessions } from '../api/index.js'
import { EventGenerator, runGeneratorSource } from '../generator/index.js'
import { PIPELINES } from '../pipelines/index.js'
import { loadConfig } from '../schemas/index.js'
import { connectClickHouse, migrate } from '../sinks/index.js'
import { RAW_REPORTS, type RawReport } from './api-raw.js'
import { fmt, machine, writeSection } from './report.js'

const DAYS = Number(process.env.BENCH_DAYS ?? 30)
const COMMUNITIES = Number(process.env.COMMUNITIES ?? 500)
const SESSIONS_PER_MINUTE = Number(process.env.SESSIONS_PER_MINUTE ?? 80)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50)
const SECONDS = Number(process.env.SECONDS ?? 5)
const DAY = 86_400_000
const log = pino({ level: 'silent' })

const keep = process.env.BENCH_DATA_DIR
const dataDir = keep ?? mkdtempSync(join(tmpdir(), 'bench-api-'))
mkdirSync(dataDir, { recursive: true })
const settings = JSON.stringify({ DAYS, COMMUNITIES, SESSIONS_PER_MINUTE })
const marker = join(dataDir, 'bench-api.json')
const reused = existsSync(marker) ? (JSON.parse(readFileSync(marker, 'utf8')) as { settings: string; end: number; events: number; fillSeconds: number }) : null
if (reused && reused.settings !== settings) throw new Error(`${dataDir} holds data for ${reused.settings}, not ${settings}: remove it`)
const ch = await connectClickHouse({ url: null, database: 'bench_api', dataDir })
await migrate(ch)
const end = reused?.end ?? Math.floor(Date.now() / 3_600_000) * 3_600_000
let events = reused?.events ?? 0
let fillSeconds = reused?.fillSeconds ?? 0
if (!reused) {
  const t0 = performance.now()
  events = await runGeneratorSource({
    generator: new EventGenerator({ seed: 11, start: end - DAYS * DAY, communities: COMMUNITIES, sessionsPerMinute: SESSIONS_PER_MINUTE }),
    pipelines: PIPELINES, ch, log, signal: new AbortController().signal, intervalMs: 1, now: () => end, until: end,
  })
  fillSeconds = (performance.now() - t0) / 1000
  writeFileSync(marker, JSON.stringify({ settings, end, events, fillSeconds }))
}
console.log(`${reused ? 'reused' : 'filled'} ${fmt(events)} events (${fillSeconds.toFixed(0)} s to fill)`)
// Measure a settled table, not the background merges that follow a bulk fill (a live system's
// merges are small and steady): wait until none has run for five seconds.
let quietSince = Date.now()
while (Date.now() - quietSince < 5_000) {
  const [m] = await (await ch.client.query({ query: 'SELECT count() AS n FROM system.merges', format: 'JSONEachRow' })).json<{ n: string }>()
  if (Number(m?.n) > 0) quietSince = Date.now()
  await new Promise((r) => setTimeout(r, 500))
}
const [sizes] = await (await ch.client.query({
  query: `SELECT (SELECT count() FROM order_events) AS order_events, (SELECT count() FROM behaviour_events) AS behaviour_events,
                 (SELECT count() FROM gmv_minute) AS gmv_minute, (SELECT count() FROM products_minute) AS products_minute, (SELECT count() FROM heatmap_minute) AS heatmap_minute,
                 (SELECT uniqExact(community_id) FROM order_events) AS communities`,
  format: 'JSONEachRow',
})).json<Record<string, string>>()
console.log(sizes)

const config = loadConfig({ API_ANONYMOUS_ROLE: 'analyst', API_RATE_LIMIT: '100000000', API_QUERY_TIMEOUT_MS: '60000', LOG_LEVEL: 'silent', STREAMCUBE_DATA_DIR: dataDir, CLICKHOUSE_DATABASE: 'bench_api' })
const apiCh = await connectClickHouse(config.clickhouse)
const querySessions = await openQuerySessions(config, apiCh)
const app = await buildApi({ ch: apiCh, querySessions, log, config })
// The baseline, served by the same app: /bench/raw/<report>?from=&to=&step= (epoch ms, seconds).
app.get('/bench/raw/:report', async (req) => {
  const { report } = req.params as { report: RawReport }
  const q = req.query as Record<string, string>
  return RAW_REPORTS[report](app.reports.queries, { from: Date.parse(q.from as string), to: Date.parse(q.to as string), step: Number(q.step ?? 60) })
})
const address = await app.listen({ port: 0, host: '127.0.0.1' })

let run = 0
interface Load { requests: number; rps: number; p50: number; p99: number; statuses: Record<string, number> }
async function load(path: string, concurrency: number, seconds = SECONDS): Promise<Load> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/api-load.ts'], {
    env: { ...process.env, URL: `${address}${path}`, CONCURRENCY: String(concurrency), SECONDS: String(seconds), BASE_MS: String(end - 100_000 * run++) }, // runs never share a query
    encoding: 'utf8',
  })
  const r = JSON.parse(stdout.trim().split('\n').at(-1) as string) as Load
  if (Object.keys(r.statuses).some((s) => s !== '200' && s !== '304')) throw new Error(`${path}: ${JSON.stringify(r.statuses)}`)
  return r
}
async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${address}${path}`)
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

const iso = (ms: number) => new Date(ms).toISOString()
type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
const sum = (xs: Json[], f: (x: Json) => number) => xs.reduce((s, x) => s + f(x), 0)
/** A report, its baseline from raw facts, and one number both must agree on (checked once, with `to` aligned). */
interface Row { label: string; path: string; raw?: { report: RawReport; step?: number; agree: (cube: Json, raw: Json) => [number, number] } }
const day = `from=${iso(end - DAY)}`
const month = `from=${iso(end - DAYS * DAY)}`
const rows: Row[] = [
  { label: 'sales overview, 24 h, by hour', path: `/v1/sales/overview?${day}&to={i}`, raw: { report: 'sales', step: 3600, agree: (c, r) => [c.totals.gmv_cents, Number(r.totals.c_gmv_cents)] } },
  { label: `sales overview, ${DAYS} days, by day`, path: `/v1/sales/overview?${month}&to={i}&granularity=day`, raw: { report: 'sales', step: 86_400, agree: (c, r) => [c.totals.gmv_cents, Number(r.totals.c_gmv_cents)] } },
  { label: 'product ranking, TOP 10, 24 h', path: `/v1/products/top?${day}&to={i}`, raw: { report: 'products', agree: (c, r) => [sum(c.products, (p) => p.gmv_cents), sum(r.products, (p) => Number(p.gmv_cents))] } },
  { label: `product ranking, TOP 10, ${DAYS} days`, path: `/v1/products/top?${month}&to={i}`, raw: { report: 'products', agree: (c, r) => [sum(c.products, (p) => p.gmv_cents), sum(r.products, (p) => Number(p.gmv_cents))] } },
  { label: 'activity and funnel, 24 h, by hour', path: `/v1/activity?${day}&to={i}&granularity=hour`, raw: { report: 'activity', step: 3600, agree: (c, r) => [c.events, Number(r.byAction.find((a: Json) => a.action === '')?.events)] } },
  { label: 'heatmap, 24 h, zoom 13', path: `/v1/heatmap?${day}&to={i}&bbox=-180,-90,180,90&zoom=13`, raw: { report: 'heatmap', agree: (c, r) => [sum(c.cells, (x) => x.orders), sum(r.cells, (x) => Number(x.orders))] } },
  { label: 'time of day, 28 days', path: `/v1/time-of-day?from=${iso(end - 28 * DAY)}&to={i}`, raw: { report: 'timeOfDay', agree: (c, r) => [sum([...c.weekday, ...c.weekend], (h) => h.gmv_cents), sum(r.hours, (h) => Number(h.gmv_cents))] } },
  { label: 'group-leader performance, 24 h (per-order lifecycle table: no raw baseline)', path: `/v1/leaders/performance?${day}&to={i}` },
]

const health = await load('/health', CONCURRENCY)
console.log('health', health)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const results: { label: string; cached: Load; uncached: Load; single: Load; raw?: Load; agree?: [number, number] }[] = []
for (const row of rows) {
  const aligned = row.path.replace('{i}', iso(end))
  const cached = await load(aligned, CONCURRENCY)
  const uncached = await load(row.path, CONCURRENCY)
  const single = await load(row.path, 1)
  let raw: Load | undefined
  let agree: [number, number] | undefined
  if (row.raw) {
    const from = new URL(aligned, 'http://x').searchParams.get('from') as string
    const rawPath = `/bench/raw/${row.raw.report}?from=${from}&step=${row.raw.step ?? 60}&to={i}`
    agree = row.raw.agree(await get<Json>(aligned), await get<Json>(rawPath.replace('{i}', iso(end))))
    if (agree[0] !== agree[1]) throw new Error(`${row.label}: the cube says ${agree[0]}, the raw facts ${agree[1]}: the baseline is not the same report`)
    raw = await load(rawPath, 1, Math.max(SECONDS, 10))
  }
  results.push({ label: row.label, cached, uncached, single, raw, agree })
  console.log(row.label, { cached: cached.rps, uncached: uncached.rps, single: [single.p50, single.p99], raw: raw && [raw.p50, raw.p99] })
}
await app.close()
for (const c of querySessions) await c.close()
await apiCh.close()
await ch.close()
if (!keep) rmSync(dataDir, { recursive: true, force: true })

const ms = (x: number) => (x < 10 ? x.toFixed(1) : fmt(x))
const minCached = Math.min(...results.map((r) => r.cached.rps))
const maxSingleP99 = Math.max(...results.map((r) => r.single.p99))
const speedups = results.filter((r) => r.raw).map((r) => (r.raw as Load).p50 / r.single.p50)
const met = (ok: boolean) => (ok ? 'met' : '**missed**')
writeSection(
  'api',
  `### API at a city's scale: cubes against raw-event queries

Question: over ${DAYS} days of a ${COMMUNITIES}-community city, how fast are the dashboard's reports from the cache and as new queries, and how much faster than the same reports computed from the raw fact tables?
Command: \`npx tsx bench/api.ts\` (BENCH_DAYS=${DAYS}, COMMUNITIES=${COMMUNITIES}, SESSIONS_PER_MINUTE=${SESSIONS_PER_MINUTE}, ${CONCURRENCY} connections, ${SECONDS} s per load) — ${machine()}; embedded chDB in the API's process with ${config.api.sessions} sessions, as in \`npm start\`; load from a separate process on the same cores.
Data: ${fmt(events)} generated events (${fmt(Number(sizes?.order_events))} order events, ${fmt(Number(sizes?.behaviour_events))} behaviour events, the rest inventory; ${sizes?.communities} communities) filled in ${fillSeconds.toFixed(0)} s (${fmt(events / fillSeconds)} events/s) through the real pipelines in process (the Kafka worker's processors, views and flush protocol, without the broker); minute cubes before merges: gmv ${fmt(Number(sizes?.gmv_minute))} rows, products ${fmt(Number(sizes?.products_minute))}, heatmap ${fmt(Number(sizes?.heatmap_minute))}.
Every request accepts gzip, as a browser's does (the API compresses a cached body over 1 KB once per entry). Cached: the dashboard's request (\`to\` on the hour) at ${CONCURRENCY} connections. Uncached: \`to\` moves back one millisecond per request, so every request is a new query and, \`to\` being off the minute, reads the minute cubes (as a rolling range does: the API reads the coarsest grain both ends align to). Raw: the same report from order_events / behaviour_events (bench/api-raw.ts), one request at a time over the same HTTP stack; before timing, one total of each is checked equal to the cube report's (column "agrees on").

| report | cached: req/s | cached p50 / p99 ms | uncached, ${CONCURRENCY} connections: req/s | uncached, one at a time: p50 / p99 ms | raw facts, one at a time: p50 / p99 ms | cube over raw at p50 | agrees on |
|---|---:|---:|---:|---:|---:|---:|---|
| /health (no query) | ${fmt(health.rps)} | ${ms(health.p50)} / ${ms(health.p99)} | | | | | |
${results.map((r) => `| ${r.label} | ${fmt(r.cached.rps)} | ${ms(r.cached.p50)} / ${ms(r.cached.p99)} | ${fmt(r.uncached.rps)} | ${ms(r.single.p50)} / ${ms(r.single.p99)} | ${r.raw ? `${ms(r.raw.p50)} / ${ms(r.raw.p99)}` : '—'} | ${r.raw ? `${(r.raw.p50 / r.single.p50).toFixed(1)}×` : '—'} | ${r.agree ? fmt(r.agree[0]) : '—'} |`).join('\n')}

Targets: cached ≥ 5,000 req/s — lowest ${fmt(minCached)}: ${met(minCached >= 5000)}; uncached one at a time p99 ≤ 50 ms — highest ${ms(maxSingleP99)} ms: ${met(maxSingleP99 <= 50)}; cube ≥ 20× faster than raw at p50 — median ${median(speedups).toFixed(1)}×, lowest ${Math.min(...speedups).toFixed(1)}×: ${met(Math.min(...speedups) >= 20)}.`,
)

/**
 * HTTP load for bench/api.ts, in its own process (in the API's process it would share the event
 * loop it measures): CONCURRENCY keep-alive connections for SECONDS seconds against URL. `{i}` in
 * the URL is replaced per request by an ISO time one millisecond earlier than the last (from
 * BASE_MS), so every request is a different query (the cache cannot answer it). Prints one JSON
 * line. Node's http client rather than fetch: the load shares the machine's cores with the API,
 * and fetch spends about three times the CPU per request. Requests accept gzip, as browsers do
 * (the body is read, not inflated).
 * Run by bench/api.ts: URL=… CONCURRENCY=16 SECONDS=5 npx tsx bench/api-load.ts
 */
import { Agent, request } from 'node:http'

const URL_TEMPLATE = process.env.URL ?? 'http://127.0.0.1:8080/health'
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16)
const SECONDS = Number(process.env.SECONDS ?? 5)
const BASE = Number(process.env.BASE_MS ?? Date.now())
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
const target = new URL(URL_TEMPLATE.replace('{i}', 'x'))

function get(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path, agent, method: 'GET', headers: { 'accept-encoding': 'gzip' } }, (res) => {
      res.on('data', () => {})
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

const pathTemplate = URL_TEMPLATE.slice(URL_TEMPLATE.indexOf('/', URL_TEMPLATE.indexOf('//') + 2))
let i = 0
const latencies: number[] = []
const statuses: Record<string, number> = {}
const deadline = performance.now() + SECONDS * 1000
async function loop(): Promise<void> {
  while (performance.now() < deadline) {
    const path = pathTemplate.replace('{i}', new Date(BASE - i++).toISOString())
    const t = performance.now()
    const status = await get(path)
    latencies.push(performance.now() - t)
    statuses[status] = (statuses[status] ?? 0) + 1
  }
}
const start = performance.now()
await Promise.all(Array.from({ length: CONCURRENCY }, loop))
const elapsed = (performance.now() - start) / 1000
agent.destroy()
latencies.sort((a, b) => a - b)
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0
process.stdout.write(`${JSON.stringify({ requests: latencies.length, rps: latencies.length / elapsed, p50: q(0.5), p99: q(0.99), statuses })}\n`)

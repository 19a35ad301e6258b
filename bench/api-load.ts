/**
 * HTTP load for bench/api.ts, in its own process (in the API's process it would share the event
 * loop it measures): CONCURRENCY connections for SECONDS seconds against URL. `{i}` in the URL is
 * replaced per request by an ISO time one millisecond earlier than the last (from BASE_MS), so
 * every request is a different query (the cache cannot answer it). Prints one JSON line.
 * Run by bench/api.ts: URL=… CONCURRENCY=16 SECONDS=5 npx tsx bench/api-load.ts
 */
const URL_TEMPLATE = process.env.URL ?? 'http://127.0.0.1:8080/health'
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16)
const SECONDS = Number(process.env.SECONDS ?? 5)
const BASE = Number(process.env.BASE_MS ?? Date.now())

let i = 0
const latencies: number[] = []
const statuses: Record<string, number> = {}
const deadline = performance.now() + SECONDS * 1000
async function loop(): Promise<void> {
  while (performance.now() < deadline) {
    const url = URL_TEMPLATE.replace('{i}', new Date(BASE - i++).toISOString())
    const t = performance.now()
    const res = await fetch(url)
    await res.arrayBuffer()
    latencies.push(performance.now() - t)
    statuses[res.status] = (statuses[res.status] ?? 0) + 1
  }
}
const start = performance.now()
await Promise.all(Array.from({ length: CONCURRENCY }, loop))
const elapsed = (performance.now() - start) / 1000
latencies.sort((a, b) => a - b)
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0
process.stdout.write(`${JSON.stringify({ requests: latencies.length, rps: latencies.length / elapsed, p50: q(0.5), p99: q(0.99), statuses })}\n`)

/**
 * Question: where does a worker spend its time? Runs the generator source (no Kafka) through all
 * pipelines into the embedded engine, for use under `node --cpu-prof`.
 * Run: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-engine.ts
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { EventGenerator, runGeneratorSource } from '../generator/index.js'
import { PIPELINES } from '../pipelines/index.js'
import { connectClickHouse, migrate } from '../sinks/index.js'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000)
const names = process.env.PIPELINES?.split(',')
const dataDir = mkdtempSync(join(tmpdir(), 'profile-'))
const ch = await connectClickHouse({ url: null, database: 'profile', dataDir })
const extra = await Promise.all(Array.from({ length: Number(process.env.SINK_CONNECTIONS ?? 1) - 1 }, () => connectClickHouse({ url: null, database: 'profile', dataDir })))
await migrate(ch)
const abort = new AbortController()
const generator = new EventGenerator({ seed: 1, start: Date.now() - 2 * 86_400_000 })
const records = generator.take(EVENTS)
let i = 0
const replay = { next: () => {
  if (i === records.length - 1) abort.abort()
  return records[Math.min(i++, records.length - 1)]!
} } as unknown as EventGenerator
const t0 = performance.now()
await runGeneratorSource({ generator: replay, pipelines: names ? PIPELINES.filter((p) => names.includes(p.name)) : PIPELINES, ch, extraConnections: extra, log: pino({ level: 'silent' }), signal: abort.signal, intervalMs: 1, now: () => Number.MAX_SAFE_INTEGER })
process.stdout.write(`${EVENTS} events in ${Math.round(performance.now() - t0)} ms: ${Math.round((EVENTS * 1000) / (performance.now() - t0))} events/s\n`)
await ch.close()

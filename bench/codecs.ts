/**
 * Question: how much does decoding + validating a record cost per wire format, compared with the
 * bare parse (JSON.parse / avsc decode) that any consumer pays anyway? The engine's decode stage
 * must stay well above the ~100k events/s a worker targets.
 *
 * Run: npx tsx bench/codecs.ts   (no services needed)
 */
import { EventGenerator } from '../generator/index.js'
import { avroEncoder, avroType, createAvroCodec, createConfluentCodec, createConfluentEncoder, createJsonCodec, EventTypes, jsonEncoder, type Codec, type EventType } from '../schemas/index.js'
import { fmt, machine, opsPerSecond, writeSection } from './report.js'

const records = new EventGenerator({ seed: 1, start: Date.UTC(2026, 10, 15, 16) }).take(50_000)
const bounds = { now: () => Date.UTC(2027, 0, 1), maxFutureMs: 86_400_000, minEventTime: Date.UTC(2015, 0, 1) }
const json = records.map((r) => ({ type: r.type, bytes: jsonEncoder.encode(r.event) }))
const avro = records.map((r) => ({ type: r.type, bytes: avroEncoder.encode(r.event) }))
const confluentEncoder = createConfluentEncoder()
const confluent = records.map((r) => ({ type: r.type, bytes: confluentEncoder.encode(r.event) }))

function run(items: { type: EventType; bytes: Buffer }[], codecs: Record<EventType, Codec>): () => number {
  return () => {
    for (const it of items) if (!codecs[it.type].decode(it.bytes).ok) throw new Error('decode failed')
    return items.length
  }
}

const perType = (f: (t: EventType) => Codec) => ({ behaviour: f('behaviour'), order: f('order'), inventory: f('inventory') })
const confluentCodec = createConfluentCodec({ bounds })

const rows: [string, number, number][] = []
const baselineJson = opsPerSecond(() => {
  for (const it of json) JSON.parse(it.bytes.toString('utf8'))
  return json.length
})
rows.push(['JSON: codec (utf-8 check + parse + validation + time checks)', opsPerSecond(run(json, perType((t) => createJsonCodec(t, { bounds })))), baselineJson])
// Baseline for the compiled validator: the same records through zod's own safeParse.
rows.push([
  'JSON: parse + zod safeParse (baseline: validation by zod alone)',
  opsPerSecond(() => {
    for (const it of json) if (!EventTypes[it.type].schema.safeParse(JSON.parse(it.bytes.toString('utf8'))).success) throw new Error('invalid')
    return json.length
  }),
  baselineJson,
])
const baselineAvro = opsPerSecond(() => {
  for (const it of avro) avroType(it.type).decode(it.bytes, 0)
  return avro.length
})
rows.push(['Avro: codec (decode + validation + time checks)', opsPerSecond(run(avro, perType((t) => createAvroCodec(t, { bounds })))), baselineAvro])
rows.push(['Confluent Avro: codec (header + decode + validation)', opsPerSecond(run(confluent, perType(() => confluentCodec))), baselineAvro])
rows.push([
  'Avro: decode + zod safeParse (baseline: validation by zod alone)',
  opsPerSecond(() => {
    for (const it of avro) if (!EventTypes[it.type].schema.safeParse(avroType(it.type).decode(it.bytes, 0).value).success) throw new Error('invalid')
    return avro.length
  }),
  baselineAvro,
])
const gen = new EventGenerator({ seed: 2, start: Date.UTC(2026, 10, 15, 16) })
const generator = opsPerSecond(() => {
  gen.take(10_000)
  return 10_000
})

const bytes = (items: { bytes: Buffer }[]) => Math.round(items.reduce((n, i) => n + i.bytes.length, 0) / items.length)
const table = [
  '| path | records/s | bare parse records/s (baseline) | codec / baseline |',
  '|---|---:|---:|---:|',
  ...rows.map(([name, ops, base]) => `| ${name} | ${fmt(ops)} | ${fmt(base)} | ${(ops / base).toFixed(2)} |`),
].join('\n')
const body = `### Codecs (decode + validate), single thread

Question: what does decoding and validating cost per wire format, next to the bare parse? And
what does the compiled validator (schemas/compiled-validator.ts) save against zod's safeParse?
Command: \`npx tsx bench/codecs.ts\` — ${machine()}. 50,000 generated records (mixed types);
mean record size JSON ${bytes(json)} B, Avro ${bytes(avro)} B, Confluent Avro ${bytes(confluent)} B.

${table}

Generator: ${fmt(generator)} events/s (simulation only, no encoding).`
writeSection('codecs', body)
process.stdout.write(`${body}\n`)

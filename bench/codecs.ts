/**
 * Question: how much does decoding + validating a record cost per wire format, compared with the
 * bare parse (JSON.parse / avsc decode) that any consumer pays anyway? The engine's decode stage
 * must stay well above the ~100k events/s a worker targets.
 *
 * Run: npx tsx bench/codecs.ts   (no services needed)
 */
import type { Codec, EventType, TypedEvent } from '../schemas/index.js'
import { fmt, machine, opsPerSecond, writeSection } from './report.js'
import { buildWorker, FROM } from './run-common.js'
import type * as GeneratorModule from '../generator/index.js'
import type * as SchemasModule from '../schemas/index.js'
import type * as EngineStreamRowsModule from '../engine/stream-rows.js'

// The codecs as they ship (dist/, built here), not through tsx's module wrapping.
buildWorker()
const { EventGenerator } = (await import(`${FROM}/generator/index.js`)) as typeof GeneratorModule
const { avroEncoder, avroType, createAvroCodec, createConfluentCodec, createConfluentEncoder, createJsonCodec, EventTypes, jsonEncoder } = (await import(`${FROM}/schemas/index.js`)) as typeof SchemasModule
const { ScannedRowWriter, StreamChunks, streamRow } = (await import(`${FROM}/engine/stream-rows.js`)) as typeof EngineStreamRowsModule

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

const perType = <T,>(f: (t: EventType) => T): Record<EventType, T> => ({ behaviour: f('behaviour'), order: f('order'), inventory: f('inventory') })
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
// The worker's whole per-record path for a JSON record, to the bytes of its stream row: the codec,
// then the row serialised (the slow path); the scanner, then the row written from the record's
// bytes (the fast path, schemas/codecs/json-scan.ts). Rows go into one stream table's chunks,
// taken every 10,000 rows as a flush would.
const POSITION = { topic: 'bench.orders', partition: 0, offset: '1234567' }
function toRows(fast: boolean): () => number {
  const codecs = perType((t) => createJsonCodec(t, { bounds }))
  const writers = perType((t) => new ScannedRowWriter(codecs[t].scanner!, t, POSITION.topic, POSITION.partition, 7))
  const chunks = new StreamChunks()
  return () => {
    for (const it of json) {
      if (fast && codecs[it.type].scanner!.scan(it.bytes)) chunks.pushScanned(writers[it.type], it.bytes, it.bytes.length, POSITION.offset)
      else {
        const d = codecs[it.type].decode(it.bytes)
        if (!d.ok) throw new Error('decode failed')
        chunks.push(streamRow(d.value[0] as TypedEvent, POSITION, 7))
      }
      if (chunks.size >= 10_000) chunks.take('t', [])?.payload.release()
    }
    return json.length
  }
}
rows.push(['JSON to stream rows: codec, then the row serialised (the slow path)', opsPerSecond(toRows(false)), baselineJson])
rows.push(['JSON to stream rows: scanner, the row written from the record (the fast path)', opsPerSecond(toRows(true)), baselineJson])
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

Question: what does decoding and validating cost per wire format, next to the bare parse? What
does the compiled validator (schemas/compiled-validator.ts) save against zod's safeParse, and the
JSON fast path (schemas/codecs/json-scan.ts) on the worker's whole way from a record to its row?
Command: \`npx tsx bench/codecs.ts\` (the compiled modules of dist/, built first) — ${machine()}. 50,000 generated records (mixed types);
mean record size JSON ${bytes(json)} B, Avro ${bytes(avro)} B, Confluent Avro ${bytes(confluent)} B.

${table}

Generator: ${fmt(generator)} events/s (simulation only, no encoding).`
writeSection('codecs', body)
process.stdout.write(`${body}\n`)

/**
 * Question: what does reading a fetch response's record batches into kafkajs's messages cost per
 * record, with kafkajs's own decoder (BigInt per record: offset, timestamp, varlong) against the
 * worker's (sinks/kafka/record-batches.ts: numbers while they are safe integers, the same result)?
 * kafkajs's decoder is the baseline; both read the same bytes.
 *
 * Run: npx tsx bench/record-batches.ts   (no services needed; the compiled modules of dist/, built first)
 */
import { createRequire } from 'node:module'
import { fmt, machine, writeSection } from './report.js'
import { buildWorker, FROM } from './run-common.js'
import type * as GeneratorModule from '../generator/index.js'
import type * as SchemasModule from '../schemas/index.js'
import type * as RecordBatchesModule from '../sinks/kafka/record-batches.js'

buildWorker()
const { EventGenerator } = (await import(`${FROM}/generator/index.js`)) as typeof GeneratorModule
const { jsonEncoder } = (await import(`${FROM}/schemas/index.js`)) as typeof SchemasModule
const { decodeRecordBatch } = (await import(`${FROM}/sinks/kafka/record-batches.js`)) as typeof RecordBatchesModule

const require = createRequire(import.meta.url)
type Decoder = { offset: number; buffer: Buffer }
type BatchDecoder = (decoder: Decoder) => Promise<{ records: unknown[] }>
const kafkajsDecode = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as BatchDecoder
const DecoderClass = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => Decoder
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (args: Record<string, unknown>) => Promise<{ buffer: Buffer }> }
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (args: Record<string, unknown>) => unknown
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: string | number): unknown }

// 60,000 generated JSON events, with the headers the generator sets, in batches of 500 (what the
// producer sends per partition), at offsets and times a running topic has.
const PER_BATCH = 500
const events = new EventGenerator({ seed: 1, start: Date.UTC(2026, 10, 15, 16) }).take(60_000)
const batches: Buffer[] = []
for (let i = 0; i < events.length; i += PER_BATCH) {
  const slice = events.slice(i, i + PER_BATCH)
  const records = slice.map((r, k) =>
    Record({ offsetDelta: k, timestampDelta: k * 3, key: Buffer.from(r.key), value: jsonEncoder.encode(r.event), headers: { 'content-type': Buffer.from('application/json'), 'streamcube-event-type': Buffer.from(r.type) } }),
  )
  const batch = await RecordBatch({ records, lastOffsetDelta: records.length - 1, firstOffset: Long.fromValue(String(12_345_678 + i)), firstTimestamp: Long.fromValue(Date.UTC(2026, 10, 15, 16) + i) })
  batches.push(batch.buffer)
}
const response = Buffer.concat(batches)

async function recordsPerSecond(decode: BatchDecoder, ms = 1500): Promise<number> {
  let records = 0
  const start = performance.now()
  while (performance.now() - start < ms) {
    const d = new DecoderClass(response)
    while (d.offset < response.length) records += (await decode(d)).records.length
  }
  return (records * 1000) / (performance.now() - start)
}

// Alternating rounds, medians: the two share the machine's drift.
const rounds = { kafkajs: [] as number[], streamcube: [] as number[] }
await recordsPerSecond(kafkajsDecode, 300)
await recordsPerSecond(decodeRecordBatch as unknown as BatchDecoder, 300)
for (let r = 0; r < 5; r++) {
  rounds.kafkajs.push(await recordsPerSecond(kafkajsDecode))
  rounds.streamcube.push(await recordsPerSecond(decodeRecordBatch as unknown as BatchDecoder))
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number
const theirs = median(rounds.kafkajs)
const ours = median(rounds.streamcube)
const body = `### Kafka record batches read into kafkajs's messages, single thread

Question: what does reading a fetch response's record batches cost per record with kafkajs's own decoder (BigInt arithmetic per record) against the worker's (sinks/kafka/record-batches.ts, the same messages)?
Command: \`npx tsx bench/record-batches.ts\` (the compiled modules of dist/, built first) — ${machine()}. ${fmt(events.length)} generated JSON events with the generator's two headers, in batches of ${PER_BATCH}, uncompressed; 5 alternating rounds of 1.5 s, medians.

| decoder | records/s | ns a record | against kafkajs's |
|---|---:|---:|---:|
| kafkajs 2.2.4's own (baseline) | ${fmt(theirs)} | ${fmt(1e9 / theirs)} | 1.00× |
| streamcube's, in its place in the worker | ${fmt(ours)} | ${fmt(1e9 / ours)} | ${(ours / theirs).toFixed(2)}× |`
writeSection('record-batches', body)
process.stdout.write(`${body}\n`)

import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import { decodeRecordBatch } from '../../../sinks/kafka/record-batches.js'

const require = createRequire(import.meta.url)

interface Decoder {
  buffer: Buffer
  offset: number
}
type BatchDecoder = (decoder: Decoder) => Promise<{ records: unknown[] }>

// kafkajs's own modules: its decoder is the oracle, its encoder writes the batches.
const kafkajsDecode = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as BatchDecoder
const DecoderClass = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => Decoder
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (args: Record<string, unknown>) => Promise<{ buffer: Buffer }> }
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (args: Record<string, unknown>) => unknown
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: string | number): unknown }
const { Types } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number; GZIP: number } }

interface Spec {
  firstOffset: string
  firstTimestamp: number | string
  timestampDeltas: number[]
  compression?: number
  headers?: (i: number) => Record<string, Buffer | Buffer[]>
  keys?: (i: number) => Buffer | null
}

async function batch(spec: Spec): Promise<Buffer> {
  const records = spec.timestampDeltas.map((timestampDelta, i) =>
    Record({
      offsetDelta: i,
      timestampDelta,
      key: spec.keys ? spec.keys(i) : Buffer.from(`key-${i}`),
      value: i % 7 === 3 ? null : Buffer.from(JSON.stringify({ i, text: 'Grüße ✓ 🍜'.repeat(i % 4) })),
      headers: spec.headers?.(i) ?? {},
    }),
  )
  const encoded = await RecordBatch({
    compression: spec.compression ?? Types.None,
    firstOffset: Long.fromValue(spec.firstOffset),
    firstTimestamp: Long.fromValue(spec.firstTimestamp),
    maxTimestamp: Long.fromValue(spec.firstTimestamp),
    lastOffsetDelta: records.length - 1,
    records,
  })
  return encoded.buffer
}

/** Both decoders over the same bytes, from the same position: what each returns and where each stops. */
async function both(bytes: Buffer): Promise<{ ours: unknown; theirs: unknown; oursEnd: number; theirsEnd: number }> {
  const a = new DecoderClass(bytes)
  const b = new DecoderClass(bytes)
  const [ours, theirs] = [await decodeRecordBatch(a as never), await kafkajsDecode(b)]
  return { ours, theirs, oursEnd: a.offset, theirsEnd: b.offset }
}

/** The fields of kafkajs's message, read one by one: ours makes the key and the timestamp when they are read. */
const FIELDS = ['magicByte', 'attributes', 'timestamp', 'offset', 'key', 'value', 'headers', 'isControlRecord', 'batchContext'] as const

/** A decoded batch with each record as a plain object of kafkajs's fields (read through whatever the record is). */
function asRead(result: unknown): unknown {
  const { records, ...context } = result as { records: Record<string, unknown>[] }
  return { ...context, records: records.map((r) => Object.fromEntries(FIELDS.map((f) => [f, r[f]]))) }
}

/**
 * Node's deep strict equality (prototypes, own properties, Buffers by content) of what kafkajs's
 * consumers can read: vitest's toStrictEqual also compares `constructor` properties by identity,
 * which a header named `constructor` is on both sides, as separate arrays.
 */
function expectSame(ours: unknown, theirs: unknown): void {
  const [a, b] = [asRead(ours), asRead(theirs)]
  if (!isDeepStrictEqual(a, b)) expect(a).toEqual(b) // prints the diff
  expect(isDeepStrictEqual(a, b)).toBe(true)
  // Every record has exactly kafkajs's fields, so no field of theirs goes unread above.
  for (const r of (theirs as { records: object[] }).records) expect(Object.keys(r).sort()).toEqual([...FIELDS].sort())
}

const deltas = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i))

describe("kafkajs's record batches, decoded without 64-bit arithmetic per record", () => {
  const cases: [string, Spec][] = [
    ['plain records with the generator headers', { firstOffset: '1234567', firstTimestamp: 1_796_000_000_000, timestampDeltas: deltas(300, (i) => i * 3), headers: (i) => ({ 'content-type': Buffer.from('application/json'), 'streamcube-event-type': Buffer.from(i % 2 ? 'order' : 'behaviour') }) }],
    ['negative and multi-byte timestamp deltas', { firstOffset: '0', firstTimestamp: 1_796_000_000_000, timestampDeltas: [0, -1, -64, -65, 63, 64, 8191, 8192, -1_000_000_000, 2 ** 40, -(2 ** 45)] }],
    ['offsets past 2^53', { firstOffset: '9007199254740990', firstTimestamp: 1_796_000_000_000, timestampDeltas: deltas(10, (i) => i) }],
    ['offsets near 2^63', { firstOffset: '9223372036854775000', firstTimestamp: 1_796_000_000_000, timestampDeltas: deltas(5, (i) => i) }],
    ['timestamps past 2^53', { firstOffset: '42', firstTimestamp: '9007199254740000', timestampDeltas: [0, 991, 992, 5000, -3] }],
    ['a missing timestamp (-1)', { firstOffset: '7', firstTimestamp: -1, timestampDeltas: [0, 0, 1] }],
    ['repeated, null-valued and prototype-named headers', { firstOffset: '5', firstTimestamp: 1_796_000_000_000, timestampDeltas: deltas(4, (i) => i), headers: (i) => ({ a: [Buffer.from('1'), Buffer.from(String(i))], __proto__x: Buffer.from('p'), constructor: Buffer.from('c'), ...(i === 2 ? { ['__proto__']: Buffer.from('proto') } : {}) }) }],
    ['header names sharing prefixes, more of them than are kept as text', { firstOffset: '8', firstTimestamp: 1_796_000_000_000, timestampDeltas: deltas(6, (i) => i), headers: (i) => Object.fromEntries(['h', 'hi', 'h1', 'content-typ', 'content-type', 'ü', 'u', ...Array.from({ length: 14 }, (_, k) => `n${(k * (i + 1)) % 17}`)].map((name) => [name, Buffer.from(`${name}:${i}`)])) }],
    ['null keys', { firstOffset: '100', firstTimestamp: 1_796_000_000_000, timestampDeltas: deltas(20, (i) => i), keys: (i) => (i % 3 === 0 ? null : Buffer.from(`k${i}`)) }],
    ['gzip-compressed records', { firstOffset: '3000000', firstTimestamp: 1_796_000_000_000, timestampDeltas: deltas(200, (i) => i * 11 - 50), compression: Types.GZIP, headers: (i) => ({ h: Buffer.from(String(i)) }) }],
  ]
  for (const [name, spec] of cases) {
    it(`returns what kafkajs's own decoder returns: ${name}`, async () => {
      const bytes = await batch(spec)
      const { ours, theirs, oursEnd, theirsEnd } = await both(bytes)
      expect((theirs as { records: unknown[] }).records.length).toBe(spec.timestampDeltas.length)
      expectSame(ours, theirs)
      expect(oursEnd).toBe(theirsEnd)
    })
  }

  it('gives the engine the timestamp as a number, equal to the text kafkajs gives', async () => {
    for (const spec of cases.map(([, spec]) => spec)) {
      const { ours, theirs } = await both(await batch(spec))
      const mine = (ours as { records: { timestampMs: number }[] }).records.map((r) => r.timestampMs)
      expect(mine).toEqual((theirs as { records: { timestamp: string }[] }).records.map((r) => Number(r.timestamp)))
    }
  })

  it('reads a log-append-time batch as kafkajs does (every record at the batch maximum)', async () => {
    const bytes = await batch({ firstOffset: '9', firstTimestamp: 1_796_000_000_000, timestampDeltas: [0, 5, 9] })
    // The attributes (int16) follow the first offset, the length, the epoch, the magic byte and the CRC.
    bytes.writeInt16BE(bytes.readInt16BE(21) | 0x8, 21)
    const { ours, theirs } = await both(bytes)
    expect((ours as { records: { timestamp: string }[] }).records.map((r) => r.timestamp)).toEqual(['1796000000000', '1796000000000', '1796000000000'])
    expectSame(ours, theirs)
  })

  it('refuses a partial batch with the error kafkajs expects at the end of a fetch', async () => {
    const bytes = await batch({ firstOffset: '1', firstTimestamp: 1_796_000_000_000, timestampDeltas: deltas(50, (i) => i) })
    const cut = bytes.subarray(0, bytes.length - 20)
    await expect(decodeRecordBatch(new DecoderClass(cut) as never)).rejects.toMatchObject({ name: 'KafkaJSPartialMessageError' })
    await expect(kafkajsDecode(new DecoderClass(cut))).rejects.toMatchObject({ name: 'KafkaJSPartialMessageError' })
  })

  it('decodes batches back to back as a fetch response holds them', async () => {
    const parts = await Promise.all([0, 1, 2].map((k) => batch({ firstOffset: String(k * 1000), firstTimestamp: 1_796_000_000_000 + k, timestampDeltas: deltas(40 + k, (i) => i) })))
    const bytes = Buffer.concat(parts)
    const a = new DecoderClass(bytes)
    const b = new DecoderClass(bytes)
    for (let k = 0; k < 3; k++) expectSame(await decodeRecordBatch(a as never), await kafkajsDecode(b))
    expect(a.offset).toBe(bytes.length)
  })
})

describe("the decoder in kafkajs's place", () => {
  /** Runs a script in a process of its own: what kafkajs loaded is per process. */
  function inProcess(script: string): string {
    return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8' }).trim()
  }
  const prelude = `
    import { createRequire } from 'node:module'
    import { installRecordBatchDecoder, decodeRecordBatch } from './sinks/kafka/record-batches.ts'
    const require = createRequire(process.cwd() + '/package.json')`

  it("is what kafkajs's fetch path loads once installed, and installing again changes nothing", () => {
    const out = inProcess(`${prelude}
      const first = installRecordBatchDecoder()
      const second = installRecordBatchDecoder()
      require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js')
      const loaded = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') === decodeRecordBatch
      console.log(JSON.stringify({ first, second, loaded }))`)
    expect(JSON.parse(out)).toEqual({ first: 'installed', second: 'already', loaded: true })
  })

  it("leaves kafkajs's own in place once a fetch has loaded it, and says so", () => {
    const out = inProcess(`${prelude}
      require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js')
      const result = installRecordBatchDecoder()
      const loaded = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') === decodeRecordBatch
      console.log(JSON.stringify({ result, loaded }))`)
    expect(JSON.parse(out)).toEqual({ result: 'late', loaded: false })
  })
})

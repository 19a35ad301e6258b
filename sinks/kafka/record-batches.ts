import { createRequire } from 'node:module'

/**
 * kafkajs's record-batch decoder, per record without 64-bit arithmetic.
 *
 * kafkajs 2.2.4 decodes every record of a fetch response through BigInt: its timestamp delta is a
 * varlong built with two BigInt allocations per byte, and the record's offset and timestamp are
 * each `Long.fromValue(string).add(delta).toString()` (a BigInt parsed from text, an add and a
 * decimal print), besides a Decoder object and a slice per record and a spread per header. On the
 * worker's backlog that was ≈ 1.4 s of the JS thread for 390k records (a V8 profile; issue 17),
 * the largest single item left on it. This module decodes a record batch to what kafkajs's own
 * decoder returns (the same fields reading the same values: strings, the key and value as views of
 * the response; the key, the value and the timestamp are made when read, see FetchedRecord) with
 * plain numbers while offsets and timestamps are safe integers, and falls back to BigInt where
 * they are not. It replaces kafkajs's module in Node's module cache before kafkajs's fetch
 * path first loads it; `installRecordBatchDecoder` reports whether it could.
 *
 * Held equal to kafkajs's own decoder by tests/unit/sinks/record-batches.test.ts (batches kafkajs
 * itself encodes, with headers, null keys, compression, offsets and timestamps past 2^53).
 */

const require = createRequire(import.meta.url)

/** The kafkajs version this decoder was checked against; any other keeps kafkajs's own. */
export const KAFKAJS_VERSION = '2.2.4'

const PATHS = {
  batch: 'kafkajs/src/protocol/recordBatch/v0/decoder.js',
  /** Loaded lazily by kafkajs, at the first fetch; it holds the batch decoder it found then. */
  fetch: 'kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js',
  errors: 'kafkajs/src/errors.js',
  compression: 'kafkajs/src/protocol/message/compression/index.js',
  timestampTypes: 'kafkajs/src/protocol/timestampTypes.js',
} as const

/** The part of kafkajs's protocol Decoder this module uses (per batch, not per record). */
interface KafkajsDecoder {
  buffer: Buffer
  offset: number
  readInt8(): number
  readInt16(): number
  readInt32(): number
  readInt64(): { toString(): string }
  slice(size: number): KafkajsDecoder
  forward(size: number): void
  readAll(): Buffer
}

interface Codec {
  decompress(buffer: Buffer): Promise<Buffer>
}

/** A record as kafkajs's decoder returns it. */
export interface DecodedRecord {
  readonly magicByte: number
  readonly attributes: number
  readonly timestamp: string
  readonly offset: string
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: Record<string, Buffer | null | (Buffer | null)[]>
  readonly isControlRecord: boolean
  readonly batchContext: BatchContext
}

interface BatchContext {
  firstOffset: string
  firstTimestamp: string
  partitionLeaderEpoch: number
  inTransaction: boolean
  isControlBatch: boolean
  lastOffsetDelta: number
  producerId: string
  producerEpoch: number
  firstSequence: number
  maxTimestamp: string
  timestampType: number
  magicByte?: number
}

const { KafkaJSPartialMessageError } = require(PATHS.errors) as { KafkaJSPartialMessageError: new (message: string) => Error }
const { lookupCodecByAttributes } = require(PATHS.compression) as { lookupCodecByAttributes: (attributes: number) => Codec | undefined }
const TimestampTypes = require(PATHS.timestampTypes) as { LOG_APPEND_TIME: number; CREATE_TIME: number }

const TIMESTAMP_TYPE_FLAG_MASK = 0x8
const TRANSACTIONAL_FLAG_MASK = 0x10
const CONTROL_FLAG_MASK = 0x20

/** Decodes one record batch from a fetch response; the same contract as kafkajs's recordBatch/v0/decoder. */
export async function decodeRecordBatch(fetchDecoder: KafkajsDecoder): Promise<BatchContext & { records: DecodedRecord[] }> {
  const firstOffset = fetchDecoder.readInt64().toString()
  const length = fetchDecoder.readInt32()
  const decoder = fetchDecoder.slice(length)
  fetchDecoder.forward(length)
  const remainingBytes = Buffer.byteLength(decoder.buffer)
  if (remainingBytes < length) {
    throw new KafkaJSPartialMessageError(`Tried to decode a partial record batch: remainingBytes(${remainingBytes}) < recordBatchLength(${length})`)
  }
  const partitionLeaderEpoch = decoder.readInt32()
  const magicByte = decoder.readInt8()
  decoder.readInt32() // CRC: kafkajs does not check it either
  const attributes = decoder.readInt16()
  const lastOffsetDelta = decoder.readInt32()
  const firstTimestamp = decoder.readInt64().toString()
  const maxTimestamp = decoder.readInt64().toString()
  const producerId = decoder.readInt64().toString()
  const producerEpoch = decoder.readInt16()
  const firstSequence = decoder.readInt32()
  const context: BatchContext = {
    firstOffset,
    firstTimestamp,
    partitionLeaderEpoch,
    inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) > 0,
    isControlBatch: (attributes & CONTROL_FLAG_MASK) > 0,
    lastOffsetDelta,
    producerId,
    producerEpoch,
    firstSequence,
    maxTimestamp,
    timestampType: (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0 ? TimestampTypes.LOG_APPEND_TIME : TimestampTypes.CREATE_TIME,
  }
  const batchContext: BatchContext = { ...context, magicByte }
  const codec = lookupCodecByAttributes(attributes)
  const count = decoder.readInt32()
  const records =
    count <= 0 ? [] : codec ? decodeRecords(await codec.decompress(decoder.readAll()), 0, count, batchContext) : decodeRecords(decoder.buffer, decoder.offset, count, batchContext)
  return { ...context, records }
}

/** The read position in the buffer being decoded: decoding a batch's records is synchronous, so one position serves every call. */
let at = 0

/** A zigzag varint (32-bit, as kafkajs reads it). */
function varint(buf: Buffer): number {
  let result = 0
  let shift = 0
  let byte: number
  do {
    byte = buf[at++]!
    result += (byte & 0x7f) << shift
    shift += 7
  } while (byte >= 0x80)
  return (result >>> 1) ^ -(result & 1)
}

/** A zigzag varlong as a number when it is a safe integer, else as a bigint. */
function varlong(buf: Buffer): number | bigint {
  const start = at
  let result = 0
  let scale = 1
  let byte: number
  do {
    byte = buf[at++]!
    result += (byte & 0x7f) * scale
    scale *= 128
  } while (byte >= 0x80)
  if (result <= Number.MAX_SAFE_INTEGER) return result % 2 === 0 ? result / 2 : -(result + 1) / 2
  at = start
  let big = 0n
  let bits = 0n
  do {
    byte = buf[at++]!
    big += BigInt(byte & 0x7f) << bits
    bits += 7n
  } while (byte >= 0x80)
  return (big >> 1n) ^ -(big & 1n)
}

/** A batch's base offset or timestamp as a number, or NaN where a number would not hold it exactly. */
function exactNumber(text: string): number {
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : Number.NaN
}

/**
 * `base + delta` as a number while it is a safe integer (`baseNumber` from exactNumber; NaN when the
 * base is not exact), else as text, as kafkajs prints it (its Long is an unbounded BigInt).
 */
function plus(base: string, baseNumber: number, delta: number | bigint): number | string {
  if (typeof delta === 'number') {
    const sum = baseNumber + delta
    if (Number.isSafeInteger(sum)) return sum
  }
  return (BigInt(base) + BigInt(delta)).toString()
}

function bytes(buf: Buffer): Buffer | null {
  const length = varint(buf)
  if (length === -1) return null
  const value = buf.slice(at, at + length) // a view, as kafkajs's; Buffer's own slice is the cheaper of the two view calls
  at += length
  return value
}

/**
 * Header names recur on every record (a producer sets the same few): the last ones seen, as
 * bytes and as text, so that a recurring name costs a byte comparison, not a view and a decode.
 */
const names: { bytes: Buffer; text: string }[] = []
const NAMES_KEPT = 16

function headerName(buf: Buffer): string {
  const length = varint(buf)
  if (length === -1) return 'null' // kafkajs keys the object by a null name: "null"
  const start = at
  at += length
  search: for (const name of names) {
    if (name.bytes.length !== length) continue
    for (let i = 0; i < length; i++) if (name.bytes[i] !== buf[start + i]) continue search
    return name.text
  }
  const text = buf.toString('utf8', start, at)
  if (names.length === NAMES_KEPT) names.shift()
  names.push({ bytes: Buffer.from(buf.subarray(start, at)), text })
  return text
}

/**
 * The headers of every record that has none: one frozen object, not an empty one per record (the
 * engine's records mostly carry none). Equal to kafkajs's `{}`; code that would add a header to a
 * fetched record must copy them first.
 */
const NO_HEADERS: DecodedRecord['headers'] = Object.freeze({})

function decodeRecords(buf: Buffer, start: number, count: number, batchContext: BatchContext): DecodedRecord[] {
  const records = new Array<DecodedRecord>(count)
  const { firstOffset, firstTimestamp, maxTimestamp, magicByte = 0, isControlBatch } = batchContext
  const offsetBase = exactNumber(firstOffset)
  const timestampBase = exactNumber(firstTimestamp)
  // Every record of a log-append-time batch is at the batch maximum: a number where it is exact, else kafkajs's text.
  const appendTime = batchContext.timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp ? plus(maxTimestamp, exactNumber(maxTimestamp), 0) : null
  at = start
  for (let i = 0; i < count; i++) {
    const length = varint(buf)
    // kafkajs reads each record from a view of its own length: whatever a record holds past its
    // fields is skipped, as there.
    const end = at + length
    const attributes = buf.readInt8(at++)
    const timestampDelta = varlong(buf)
    const time = appendTime ?? plus(firstTimestamp, timestampBase, timestampDelta)
    const offset = String(plus(firstOffset, offsetBase, varint(buf)))
    const keyLength = varint(buf)
    const keyAt = at
    if (keyLength > 0) at += keyLength
    const valueLength = varint(buf)
    const valueAt = at
    if (valueLength > 0) at += valueLength
    const headerCount = varint(buf)
    const headers: DecodedRecord['headers'] = headerCount === 0 ? NO_HEADERS : {}
    for (let h = 0; h < headerCount; h++) {
      const headerKey = headerName(buf)
      const headerValue = bytes(buf)
      // As kafkajs: it looks a key up through the prototype (a header named `constructor` becomes
      // [Object, value] there) and builds the object by spreading (`__proto__` an own property).
      const seen = headers[headerKey] as DecodedRecord['headers'][string] | undefined
      const merged = seen === undefined ? headerValue : Array.isArray(seen) ? [...seen, headerValue] : [seen, headerValue]
      if (headerKey === '__proto__') Object.defineProperty(headers, headerKey, { value: merged, enumerable: true, writable: true, configurable: true })
      else headers[headerKey] = merged
    }
    at = end
    records[i] = new FetchedRecord(magicByte, attributes, offset, buf, keyAt, keyLength, valueAt, valueLength < 0 ? -1 : valueAt + valueLength, headers, time, isControlBatch, batchContext)
  }
  return records
}

/**
 * A record with kafkajs's fields, of which the key, the value and the timestamp are made when read.
 * A fetched record waits in its batch (often across a flush), and every object it holds is copied
 * by each young-generation collection it lives through and then promoted: the engine reads the
 * value where it stands in the fetched bytes (`fetched`, [valueAt, valueEnd)) and the time as a
 * number, and the key only for a dead letter or a late record. Each read of `key` or `value`
 * returns a new view of the same bytes.
 */
class FetchedRecord implements DecodedRecord {
  constructor(
    readonly magicByte: number,
    readonly attributes: number,
    readonly offset: string,
    /** The bytes the record was decoded from (the fetch response, or a decompressed batch). */
    readonly fetched: Buffer,
    private readonly keyAt: number,
    /** -1: a null key. */
    private readonly keyLength: number,
    readonly valueAt: number,
    /** -1 (below valueAt): a null value. */
    readonly valueEnd: number,
    readonly headers: DecodedRecord['headers'],
    /** The timestamp: a number while it is a safe integer, else kafkajs's text. */
    private readonly time: number | string,
    readonly isControlRecord: boolean,
    readonly batchContext: BatchContext,
  ) {}

  get key(): Buffer | null {
    return this.keyLength < 0 ? null : this.fetched.slice(this.keyAt, this.keyAt + this.keyLength)
  }

  get value(): Buffer | null {
    return this.valueEnd < this.valueAt ? null : this.fetched.slice(this.valueAt, this.valueEnd)
  }

  get timestamp(): string {
    return String(this.time)
  }

  /** The timestamp in milliseconds (rounded where it is past 2^53). */
  get timestampMs(): number {
    return Number(this.time)
  }
}

/** What `installRecordBatchDecoder` found. */
export type DecoderInstall = 'installed' | 'already' | 'late' | 'other-version'

/**
 * Puts `decodeRecordBatch` in place of kafkajs's record-batch decoder for this process. Only
 * kafkajs KAFKAJS_VERSION is patched ('other-version': kafkajs's own stays); 'late' when a fetch
 * already ran in this process (its response decoder holds kafkajs's own, which stays: correct,
 * only slower). Idempotent.
 */
export function installRecordBatchDecoder(): DecoderInstall {
  const { version } = require('kafkajs/package.json') as { version: string }
  if (version !== KAFKAJS_VERSION) return 'other-version'
  const batchPath = require.resolve(PATHS.batch)
  require(batchPath)
  const cached = require.cache[batchPath]!
  if (cached.exports === decodeRecordBatch) return 'already'
  if (require.cache[require.resolve(PATHS.fetch)]) return 'late'
  cached.exports = decodeRecordBatch
  return 'installed'
}

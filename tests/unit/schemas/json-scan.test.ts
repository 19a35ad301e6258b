import { describe, expect, it } from 'vitest'
import { EventGenerator } from '../../../generator/index.js'
import { createJsonCodec, DEFAULT_TIME_BOUNDS, EventTypes, JsonEventScanner, type EventType, type TypedEvent } from '../../../schemas/index.js'
import { ScannedRowWriter, streamRow } from '../../../engine/stream-rows.js'

/*
 * The JSON fast path against the slow one (JSON.parse, zod, rawFactValues, JSON.stringify): on every
 * input, either the scanner declines, or the slow path accepts the same event and the row written
 * from the record's bytes is the slow path's row, byte for byte.
 */

const TYPES = Object.keys(EventTypes) as EventType[]
const NOW = Date.UTC(2026, 10, 16)
const bounds = { ...DEFAULT_TIME_BOUNDS, now: () => NOW }
const events = new EventGenerator({ seed: 7, start: Date.UTC(2026, 10, 15, 16) }).take(12_000)
const byType = (t: EventType) => events.filter((r) => r.type === t).map((r) => r.event.event as unknown as Record<string, unknown>)
const POSITION = { topic: 'shop-é.orders', partition: 3, offset: '1234567' }
const PIPES = 13

interface Outcome {
  fast: boolean
  slow: boolean
}

const paths = Object.fromEntries(
  TYPES.map((type) => {
    const scanner = JsonEventScanner.for(type, undefined, bounds) as JsonEventScanner
    return [type, { scanner, writer: new ScannedRowWriter(scanner, type, POSITION.topic, POSITION.partition, PIPES), codec: createJsonCodec(type, { bounds }) }]
  }),
) as Record<EventType, { scanner: JsonEventScanner; writer: ScannedRowWriter; codec: ReturnType<typeof createJsonCodec> }>

function compare(type: EventType, text: string | Buffer): Outcome {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text)
  const { scanner, writer, codec } = paths[type]
  const decoded = codec.decode(bytes)
  const fast = scanner.scan(bytes)
  if (fast) {
    expect(decoded.ok, `the fast path accepted what the slow path refuses: ${String(text)}`).toBe(true)
    if (!decoded.ok) return { fast, slow: false }
    const event = (decoded.value[0] as TypedEvent).event
    expect(scanner.eventId).toBe(event.eventId)
    expect(scanner.eventTime).toBe(event.eventTime)
    const out = Buffer.alloc(writer.bound(bytes.length, POSITION.offset))
    const end = writer.write(bytes, POSITION.offset, out, 0)
    expect(out.toString("utf8", 0, end), String(text)).toBe(JSON.stringify(streamRow(decoded.value[0] as TypedEvent, POSITION, PIPES)))
  }
  // The same record inside a larger buffer, as it stands in a fetch response: the bytes around it
  // (which could close an object cut short, or continue a string or a number) change nothing.
  for (const [before, after] of AROUND) {
    const whole = Buffer.concat([before, bytes, after])
    const inside = scanner.scan(whole, before.length, before.length + bytes.length)
    expect(inside, `scanned inside other bytes: ${String(text)} + ${after.toString('latin1')}`).toBe(fast)
    if (inside && decoded.ok) {
      expect(scanner.eventId).toBe((decoded.value[0] as TypedEvent).event.eventId)
      const out = Buffer.alloc(writer.bound(bytes.length, POSITION.offset))
      const end = writer.write(whole, POSITION.offset, out, 0)
      expect(out.toString('utf8', 0, end)).toBe(JSON.stringify(streamRow(decoded.value[0] as TypedEvent, POSITION, PIPES)))
    }
  }
  return { fast, slow: decoded.ok }
}

/** Bytes before and after a record in a larger buffer: a previous record, then what could complete or extend this one. */
const AROUND: readonly (readonly [Buffer, Buffer])[] = [
  [Buffer.from('{"eventId":"x"}\x02'), Buffer.from('}')],
  [Buffer.from([0x00, 0xff]), Buffer.from(' }\n')],
  [Buffer.alloc(0), Buffer.from('"}')],
  [Buffer.from('  '), Buffer.from('0]}}')],
  [Buffer.from('x'), Buffer.from([0x80, 0x80, 0x7d])],
]

/** Ways a producer writes the same or a wrong record, as text (JSON.stringify cannot write most of them). */
function* variants(e: Record<string, unknown>): Generator<string> {
  const text = JSON.stringify(e)
  yield text
  yield JSON.stringify(e, null, 2) // whitespace everywhere
  yield ` ${text}\n`
  yield JSON.stringify(Object.fromEntries(Object.entries(e).reverse())) // another key order
  yield `${text.slice(0, -1)},"eventId":"dup"}` // a repeated key: JSON.parse keeps the last
  yield `${text.slice(0, -1)},"extra":{"a":[1,"x"]}}` // an unknown field, stripped by zod
  yield `${text}x`
  yield text.slice(0, -1)
  yield text.slice(0, text.length >> 1)
  yield text.replace(/"eventTime":(\d+)/, (_, t: string) => `"eventTime":${t}.0`)
  yield text.replace(/"eventTime":(\d+)/, (_, t: string) => `"eventTime":${Number(t) / 1000}e3`)
  yield text.replace(/"eventTime":(\d+)/, (_, t: string) => `"eventTime":${Math.floor(Number(t) / 1000)}`) // seconds
  yield text.replace(/"eventTime":(\d+)/, '"eventTime":-1')
  yield text.replace(/"eventTime":(\d+)/, '"eventTime":01767225600000')
  yield text.replace(/"eventTime":(\d+)/, '"eventTime":"1767225600000"')
  yield text.replace(/"eventTime":(\d+)/, '"eventTime":17672256000000000000')
  for (const [key, value] of Object.entries(e)) {
    const re = new RegExp(`"${key}":${JSON.stringify(value)?.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)
    const put = (raw: string) => text.replace(re, `"${key}":${raw}`)
    yield put('null')
    yield text.replace(re, '').replace(',,', ',').replace('{,', '{').replace(',}', '}') // absent
    if (typeof value === 'string') {
      yield put('""')
      yield put(JSON.stringify('x'.repeat(129)))
      yield put(JSON.stringify('x'.repeat(128)))
      yield put(JSON.stringify(`${value}é漢字`)) // multi-byte UTF-8: copied as it stands
      yield put(JSON.stringify(`${value}😀`)) // a pair of UTF-16 units
      yield put(JSON.stringify('😀'.repeat(64))) // 128 units, 256 bytes
      yield put(JSON.stringify('😀'.repeat(65)))
      yield put(`"${value}\\n"`)
      yield put(`"${value}\\u00e9"`)
      yield put(`"${value}\n"`)
      yield put('1')
      yield put('true')
      yield put('2026-02-30' === value ? '"2026-02-28"' : '"2026-02-30"')
    }
    if (typeof value === 'number') {
      const odd = [String(value + 0.5), `${value}.0`, `${value}.25`, `-${value}`, `${value}e0`, `${value}.123456789012345`, '0', '-0', '0.0', '-0.0', '90', '90.000001', '-180', '1e400', `"${value}"`, `${value} `]
      for (const n of [...odd, '0.0000001', '0.000001', '-0.0000005', '12.50', '12.5', '-12.5', '100', '0.1', '89.999999999999']) yield put(n)
    }
    if (Array.isArray(value) && value.length > 0) {
      yield put('[]')
      yield put(JSON.stringify([...value, ...value]))
      yield put(JSON.stringify(Array.from({ length: 501 }, () => value[0])))
      yield put(JSON.stringify([{ ...(value[0] as object), qty: 0 }]))
      yield put(JSON.stringify([{ ...(value[0] as object), qty: 10_000, unitPriceCents: 0 }]))
      yield put(JSON.stringify([{ ...(value[0] as object), extra: 1 }]))
      yield put(JSON.stringify([{ ...(value[0] as object), sku: '' }]))
      yield put('[1]')
      yield put('{}')
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const k of Object.keys(value)) {
        yield put(JSON.stringify({ ...value, [k]: null }))
        yield put(JSON.stringify({ ...value, [k]: '' }))
        yield put(JSON.stringify({ ...value, [k]: `${String((value as Record<string, unknown>)[k])}, 杭州` }))
      }
      yield put('[]')
    }
  }
  for (const enumField of ['action', 'status', 'kind', 'device', 'channel', 'complaintReason', 'lossReason']) {
    if (!(enumField in e)) continue
    for (const v of ['search', 'view', 'refunded', 'complaint', 'receipt', 'loss', 'stocktake', 'sale', 'quality', 'expired', 'ios', 'app', 'nope', 'VIEW']) {
      yield JSON.stringify({ ...e, [enumField]: v })
    }
  }
}

describe('the JSON fast path', () => {
  it('reads every generated event of each type, and writes the slow path row', { timeout: 60_000 }, () => {
    for (const type of TYPES) {
      const list = byType(type)
      expect(list.length).toBeGreaterThan(100)
      for (const e of list) expect(compare(type, JSON.stringify(e)).fast, JSON.stringify(e)).toBe(true)
    }
  })

  it('declines or agrees with the slow path on every variant, and reads the plain ones', { timeout: 60_000 }, () => {
    const tally = { fast: 0, slowOnly: 0, neither: 0 }
    for (const type of TYPES) {
      for (const e of byType(type).slice(0, 40)) {
        for (const text of variants(e)) {
          const o = compare(type, text)
          if (o.fast) tally.fast++
          else if (o.slow) tally.slowOnly++
          else tally.neither++
        }
      }
    }
    // Each kind of outcome occurs: the test exercises acceptance, declining valid records and errors.
    expect(tally.fast).toBeGreaterThan(1000)
    expect(tally.slowOnly).toBeGreaterThan(100)
    expect(tally.neither).toBeGreaterThan(1000)
  })

  it('reads whitespace, another key order and multi-byte text itself, and leaves repeated keys, escapes and unknown fields to the slow path', () => {
    const e = byType('order')[0] as Record<string, unknown>
    const text = JSON.stringify(e)
    expect(compare('order', JSON.stringify(e, null, 2)).fast).toBe(true)
    expect(compare('order', JSON.stringify(Object.fromEntries(Object.entries(e).reverse()))).fast).toBe(true)
    expect(compare('order', JSON.stringify({ ...e, customer: { ...(e.customer as object), name: '高慧 😀' } })).fast).toBe(true)
    expect(compare('order', `${text.slice(0, -1)},"orderId":"o-2"}`)).toEqual({ fast: false, slow: true })
    expect(compare('order', text.replace(/"orderId":"([^"]+)"/, '"orderId":"$1\\u0041"'))).toEqual({ fast: false, slow: true })
    expect(compare('order', `${text.slice(0, -1)},"coupon":"x"}`)).toEqual({ fast: false, slow: true })
    expect(compare('order', text.replace(/"amountCents":(\d+)/, '"amountCents":$1.0'))).toEqual({ fast: false, slow: true })
  })

  it('leaves every malformed UTF-8 sequence in a string to the slow path, and reads the well-formed ones', () => {
    const e = byType('order')[0] as Record<string, unknown>
    const text = JSON.stringify({ ...e, customer: { ...(e.customer as object), name: 'NAME' } })
    const at = text.indexOf('NAME')
    const withBytes = (bytes: number[]) => Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bytes), Buffer.from(text.slice(at + 4))])
    const malformed = [[0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xc2], [0xc2, 0x41], [0xe0, 0x80, 0x80], [0xe0, 0xa0], [0xed, 0xa0, 0x80], [0xef, 0xbf], [0xf0, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xf0, 0x9f, 0x98], [0xff]]
    for (const bytes of malformed) expect(compare('order', withBytes(bytes)), bytes.join(',')).toEqual({ fast: false, slow: false })
    const wellFormed = [[0xc2, 0x80], [0xdf, 0xbf], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xee, 0x80, 0x80], [0xef, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf], [0xe6, 0x9d, 0xad, 0xe5, 0xb7, 0x9e]]
    for (const bytes of wellFormed) expect(compare('order', withBytes(bytes)), bytes.join(',')).toEqual({ fast: true, slow: true })
  })

  it('checks event time as the codec does, with its clock', () => {
    const e = byType('behaviour')[0] as Record<string, unknown>
    expect(compare('behaviour', JSON.stringify({ ...e, eventTime: NOW + 2 * 86_400_000 }))).toEqual({ fast: false, slow: false })
    expect(compare('behaviour', JSON.stringify({ ...e, eventTime: NOW + 3_600_000 })).fast).toBe(true)
  })
})

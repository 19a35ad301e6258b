import { describe, expect, it } from 'vitest'
import {
  avroEncoder,
  avroType,
  createAvroCodec,
  createConfluentCodec,
  createConfluentEncoder,
  createJsonCodec,
  DecodeErrorCode,
  jsonEncoder,
  type Codec,
  type DecodeResult,
  type TypedEvent,
} from '../../../schemas/index.js'
import { BOUNDS, generated, sampleOf } from '../fixtures.js'

const records = generated(3000)
const order = sampleOf(records, 'order')
const behaviour = sampleOf(records, 'behaviour')

const json = { order: createJsonCodec('order', { bounds: BOUNDS }), behaviour: createJsonCodec('behaviour', { bounds: BOUNDS }) }
const jsonBytes = (v: unknown) => Buffer.from(JSON.stringify(v))

function errorOf(r: DecodeResult<readonly TypedEvent[]>) {
  if (r.ok) throw new Error(`expected a decode error, got ${JSON.stringify(r.value).slice(0, 200)}`)
  return r.error
}

describe('round trips: every generated event survives every wire format unchanged', () => {
  const formats: [string, (e: TypedEvent) => Buffer, (type: TypedEvent['type']) => Codec][] = [
    ['json', (e) => jsonEncoder.encode(e), (t) => createJsonCodec(t, { bounds: BOUNDS })],
    ['avro', (e) => avroEncoder.encode(e), (t) => createAvroCodec(t, { bounds: BOUNDS })],
    ['confluent-avro', (e) => createConfluentEncoder().encode(e), () => createConfluentCodec({ bounds: BOUNDS })],
  ]
  for (const [name, encode, codecFor] of formats) {
    it(name, () => {
      const codecs = { behaviour: codecFor('behaviour'), order: codecFor('order'), inventory: codecFor('inventory') }
      for (const r of records) {
        const decoded = codecs[r.type].decode(encode(r.event))
        expect(decoded.ok, JSON.stringify(decoded.ok ? '' : decoded.error.toJSON())).toBe(true)
        if (decoded.ok) expect(decoded.value).toEqual([r.event])
      }
    })
  }
})

describe('bad input: a typed error with the field, never a throw', () => {
  const cases: [string, Codec, Buffer | null, string, string?][] = [
    ['null value', json.order, null, DecodeErrorCode.EMPTY],
    ['empty value', json.order, Buffer.alloc(0), DecodeErrorCode.EMPTY],
    ['truncated JSON', json.order, jsonBytes(order).subarray(0, 40), DecodeErrorCode.JSON_SYNTAX],
    ['invalid UTF-8', json.order, Buffer.concat([Buffer.from('{"eventId":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), DecodeErrorCode.INVALID_UTF8],
    ['NaN literal', json.order, Buffer.from(JSON.stringify(order).replace(/"amountCents":\d+/, '"amountCents":NaN')), DecodeErrorCode.JSON_SYNTAX],
    ['Infinity literal', json.order, Buffer.from(JSON.stringify(order).replace(/"deliveryLat":[\d.]+/, '"deliveryLat":Infinity')), DecodeErrorCode.JSON_SYNTAX],
    ['a JSON array', json.order, jsonBytes([order]), DecodeErrorCode.VALIDATION],
    ['a wrong type', json.order, jsonBytes({ ...order, amountCents: '12.30' }), DecodeErrorCode.VALIDATION, 'amountCents'],
    ['a missing required field', json.order, jsonBytes({ ...order, orderId: undefined }), DecodeErrorCode.VALIDATION, 'orderId'],
    ['a negative quantity', json.order, jsonBytes({ ...order, lines: [{ ...order.lines[0], qty: -2 }] }), DecodeErrorCode.VALIDATION, 'lines.0.qty'],
    ['money as a binary float', json.order, jsonBytes({ ...order, amountCents: 12.3 }), DecodeErrorCode.VALIDATION, 'amountCents'],
    ['an unknown status', json.order, jsonBytes({ ...order, status: 'teleported' }), DecodeErrorCode.VALIDATION, 'status'],
    ['a refund without an amount', json.order, jsonBytes({ ...order, status: 'refunded' }), DecodeErrorCode.VALIDATION, 'refundCents'],
    ['a complaint without a reason', json.order, jsonBytes({ ...order, status: 'complaint' }), DecodeErrorCode.VALIDATION, 'complaintReason'],
    ['a latitude off the globe', json.order, jsonBytes({ ...order, deliveryLat: 130 }), DecodeErrorCode.VALIDATION, 'deliveryLat'],
    ['event time in seconds', json.order, jsonBytes({ ...order, eventTime: Math.floor(order.eventTime / 1000) }), DecodeErrorCode.TIMESTAMP_UNIT, 'eventTime'],
    ['event time in microseconds', json.order, jsonBytes({ ...order, eventTime: order.eventTime * 1000 }), DecodeErrorCode.TIMESTAMP_UNIT, 'eventTime'],
    ['event time far in the future', json.order, jsonBytes({ ...order, eventTime: BOUNDS.now() + 30 * 86_400_000 }), DecodeErrorCode.TIMESTAMP_RANGE, 'eventTime'],
    ['event time before 2015', json.order, jsonBytes({ ...order, eventTime: Date.UTC(2012, 0, 1) }), DecodeErrorCode.TIMESTAMP_RANGE, 'eventTime'],
    ['a 1 MB string', json.order, jsonBytes({ ...order, orderId: 'x'.repeat(1_000_000) }), DecodeErrorCode.VALIDATION, 'orderId'],
    ['a record over the size limit', json.order, Buffer.alloc(2 * 1024 * 1024, 0x20), DecodeErrorCode.TOO_LARGE],
    ['a search without a query', json.behaviour, jsonBytes({ ...behaviour, action: 'search', sku: null, query: null }), DecodeErrorCode.VALIDATION, 'query'],
    ['lat without lon', json.behaviour, jsonBytes({ ...behaviour, lat: 30.2, lon: null }), DecodeErrorCode.VALIDATION, 'lon'],
  ]
  for (const [name, codec, bytes, code, path] of cases) {
    it(`${name} → ${code}${path ? ` at ${path}` : ''}`, () => {
      const error = errorOf(codec.decode(bytes))
      expect(error.code).toBe(code)
      if (path) expect(error.path).toBe(path)
      expect(error.reason.length).toBeGreaterThan(0)
      expect(error.retryable).toBe(false)
    })
  }

  it('extra fields are accepted and stripped (producers may add fields first)', () => {
    const r = json.order.decode(jsonBytes({ ...order, couponCode: 'HELLO', customer: { ...order.customer, wechat: 'x' } }))
    expect(r.ok).toBe(true)
    if (r.ok) {
      expect(r.value[0]?.event).not.toHaveProperty('couponCode')
      expect((r.value[0]?.event as typeof order).customer).not.toHaveProperty('wechat')
    }
  })

  const body = avroType('order').toBuffer(order)
  const confluent = createConfluentCodec({ bounds: BOUNDS })
  const framed = createConfluentEncoder().encode({ type: 'order', event: order })
  const avroCases: [string, Codec, Buffer, string][] = [
    ['truncated Avro', createAvroCodec('order', { bounds: BOUNDS }), body.subarray(0, body.length - 7), DecodeErrorCode.AVRO_TRUNCATED],
    ['Avro with trailing bytes', createAvroCodec('order', { bounds: BOUNDS }), Buffer.concat([body, Buffer.from([1, 2, 3])]), DecodeErrorCode.AVRO_TRAILING_BYTES],
    ['Avro with a bad enum index', createAvroCodec('behaviour', { bounds: BOUNDS }), Buffer.from([2, 0x61, 0x80, 0x01, 0x7e]), DecodeErrorCode.AVRO_INVALID],
    ['wrong magic byte', confluent, Buffer.concat([Buffer.from([1]), framed.subarray(1)]), DecodeErrorCode.MAGIC_BYTE],
    ['a header shorter than 5 bytes', confluent, Buffer.from([0, 0, 0]), DecodeErrorCode.AVRO_TRUNCATED],
    ['an unknown schema id', confluent, Buffer.concat([Buffer.from([0, 0, 0, 0x30, 0x39]), body]), DecodeErrorCode.UNKNOWN_SCHEMA_ID],
    ['a truncated Confluent body', confluent, framed.subarray(0, framed.length - 10), DecodeErrorCode.AVRO_TRUNCATED],
    ['the schema id of another event type', confluent, Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), body]), DecodeErrorCode.AVRO_TRUNCATED],
  ]
  for (const [name, codec, bytes, code] of avroCases) {
    it(`${name} → ${code}`, () => {
      expect(errorOf(codec.decode(bytes)).code).toBe(code)
    })
  }

  it('NaN and Infinity inside Avro doubles are validation errors naming the field', () => {
    const codec = createAvroCodec('order', { bounds: BOUNDS })
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = errorOf(codec.decode(avroType('order').toBuffer({ ...order, deliveryLon: bad })))
      expect([error.code, error.path]).toEqual([DecodeErrorCode.VALIDATION, 'deliveryLon'])
    }
  })

  it('random garbage never throws out of any codec', () => {
    const codecs: Codec[] = [json.order, createAvroCodec('order', { bounds: BOUNDS }), createAvroCodec('inventory', { bounds: BOUNDS }), confluent]
    let seed = 1
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    for (let i = 0; i < 3000; i++) {
      const base = i % 2 === 0 ? framed : jsonBytes(order)
      const bytes = Buffer.from(base)
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256)
      const cut = bytes.subarray(0, Math.floor(rnd() * bytes.length) + 1)
      for (const codec of codecs) expect(() => codec.decode(cut)).not.toThrow()
    }
  })
})

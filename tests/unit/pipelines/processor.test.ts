import { describe, expect, it } from 'vitest'
import { DEFAULT_EVENT_TIME_POLICY, decodeCheckpoint, deduplicationToken, encodeCheckpoint, PartitionProcessor, pipesMask, StreamChunks, type FlushPlan } from '../../../engine/index.js'
import { EventGenerator } from '../../../generator/index.js'
import { gmv, PIPELINES, products } from '../../../pipelines/index.js'
import { BufferPool, joinPayloads, PayloadWriter } from '../../../sinks/index.js'
import { avroType, createConfluentCodec, createDebeziumCodec, createConfluentEncoder, createJsonCodec, jsonEncoder, LOCAL_SCHEMA_IDS, type TypedEvent } from '../../../schemas/index.js'
import { BOUNDS, NOW, START } from '../fixtures.js'

const records = new EventGenerator({ seed: 4, start: START })
  .take(20_000)
  .filter((r) => r.type === 'order')
  .map((r, i) => ({ offset: String(i), key: Buffer.from(r.key), value: jsonEncoder.encode(r.event), headers: {}, timestamp: '0' }))

function run(from: number, to: number, checkpoint: ReturnType<typeof decodeCheckpoint>, committed: bigint | null): FlushPlan {
  const p = new PartitionProcessor('t.orders', 0, 'order', createJsonCodec('order', { bounds: BOUNDS }), PIPELINES, DEFAULT_EVENT_TIME_POLICY, checkpoint, committed)
  for (const r of records.slice(from, to + 1)) p.handle(r)
  return p.takeFlush()!
}

describe('the partition processor', () => {
  it('flushes the same plan whether a JSON record takes the fast path or the slow one, escapes, repeats, late and malformed records mixed in', () => {
    // Every fourth record written with an escape (the slow path), every 50th re-sent, every 97th
    // malformed, a few far in the past (too late): the two processors differ only in the codec's
    // scanner, so their stream payloads, counts, dead letters and checkpoints must be equal.
    const mixed = records.slice(0, 3000).map((r, i) => {
      if (i % 97 === 5) return { ...r, value: Buffer.from('{"eventId":') }
      if (i % 4 === 1) return { ...r, value: Buffer.from(r.value.toString().replace('"eventId":"o-', '"eventId":"\\u006f-')) }
      return r
    })
    const replayed = mixed.flatMap((r, i) => (i % 50 === 7 ? [r, { ...r }] : [r])).map((r, i) => ({ ...r, offset: String(i) }))
    const late = replayed.map((r, i) => (i % 400 === 399 ? { ...r, value: Buffer.from(r.value.toString().replace(/"eventTime":\d+/, `"eventTime":${START - 86_400_000}`)) } : r))
    const plan = (fast: boolean) => {
      const json = createJsonCodec('order', { bounds: BOUNDS })
      const codec = fast ? json : { format: json.format, decode: json.decode }
      const p = new PartitionProcessor('t.orders', 0, 'order', codec, PIPELINES, DEFAULT_EVENT_TIME_POLICY, null, null)
      for (const r of late) p.handle(r)
      const f = p.takeFlush()!
      return { stream: f.stream!.payload.bytes.toString(), rows: f.stream!.rows, counts: f.counts, dead: f.deadLetters.map((d) => [d.record.offset, d.error.code]), late: f.late.map((l) => l.eventId), after: f.after, quality: JSON.stringify([...f.rows].map(([k, v]) => [k, [...v]])) }
    }
    const fast = plan(true)
    const slow = plan(false)
    expect(fast).toEqual(slow)
    expect(fast.counts.duplicates).toBeGreaterThan(10)
    expect(fast.counts.deadLettered).toBeGreaterThan(10)
    expect(fast.counts.tooLate).toBeGreaterThan(0)
    expect(fast.stream).toContain('"o-') // the escaped ids decoded by the slow path, written as JSON.stringify writes them
  })

  it('is a pure function of the records: the same range gives the same rows', () => {
    const a = run(0, 999, null, null)
    const b = run(0, 999, null, null)
    expect(JSON.stringify([a.stream, [...a.rows].map(([k, v]) => [k, [...v]])])).toBe(JSON.stringify([b.stream, [...b.rows].map(([k, v]) => [k, [...v]])]))
    expect(a.first).toBe('0')
    expect(a.last).toBe('999')
  })

  it('after a crash, re-reading a pending range from its checkpoint gives the rows of the first attempt', () => {
    const first = run(0, 499, null, null)
    const second = run(500, 1199, decodeCheckpoint(encodeCheckpoint(first.after, 'set')), 500n)
    const metadata = decodeCheckpoint(encodeCheckpoint(second.before, 'set', second.last))
    expect(metadata?.pending).toBe('1199')
    // The replay starts at the horizon start (to rebuild the id memory), then re-flushes [500, 1199].
    const start = Number(PartitionProcessor.startOffset(metadata, 500n))
    expect(start).toBeLessThanOrEqual(500)
    const p = new PartitionProcessor('t.orders', 0, 'order', createJsonCodec('order', { bounds: BOUNDS }), PIPELINES, DEFAULT_EVENT_TIME_POLICY, metadata, 500n)
    for (const r of records.slice(start, 1200)) p.handle(r)
    expect(p.pendingComplete).toBe(true)
    const replay = p.takeFlush()!
    expect([replay.first, replay.last]).toEqual([second.first, second.last])
    expect(JSON.stringify([replay.stream, [...replay.rows].map(([k, v]) => [k, [...v]])])).toBe(JSON.stringify([second.stream, [...second.rows].map(([k, v]) => [k, [...v]])]))
  })

  it('refuses to cut a pending range short', () => {
    const metadata = decodeCheckpoint(encodeCheckpoint({ watermark: null, horizonStart: null }, 'set', '99'))
    const p = new PartitionProcessor('t.orders', 0, 'order', createJsonCodec('order', { bounds: BOUNDS }), PIPELINES, DEFAULT_EVENT_TIME_POLICY, metadata, 0n)
    for (const r of records.slice(0, 50)) p.handle(r)
    expect(p.takeFlush()).toBeNull()
  })

  it('flushes normally again once a replayed pending range has been re-flushed', () => {
    const metadata = decodeCheckpoint(encodeCheckpoint({ watermark: null, horizonStart: null }, 'set', '99'))
    const p = new PartitionProcessor('t.orders', 0, 'order', createJsonCodec('order', { bounds: BOUNDS }), PIPELINES, DEFAULT_EVENT_TIME_POLICY, metadata, 0n)
    for (const r of records.slice(0, 50)) p.handle(r)
    expect(p.mayFlush).toBe(false)
    for (const r of records.slice(50, 100)) p.handle(r)
    expect(p.mayFlush).toBe(true)
    expect(p.takeFlush()?.last).toBe('99')
    // The records after the pending range form ordinary ranges, flushable at any time.
    for (const r of records.slice(100, 130)) p.handle(r)
    expect(p.pendingComplete).toBe(false)
    expect(p.mayFlush).toBe(true)
    expect([p.takeFlush()?.first, p.takeFlush()]).toEqual(['100', null])
  })

  it('dead-letters undecodable records with their reason and keeps going', () => {
    const p = new PartitionProcessor('t.orders', 0, 'order', createJsonCodec('order', { bounds: BOUNDS }), PIPELINES, DEFAULT_EVENT_TIME_POLICY, null, null)
    p.handle({ ...records[0]!, value: Buffer.from('{oops') })
    p.handle(records[1]!)
    const plan = p.takeFlush()!
    expect(plan.deadLetters).toHaveLength(1)
    expect(plan.deadLetters[0]?.error.code).toBe('DECODE_JSON_SYNTAX')
    expect(plan.counts.accepted).toBe(1)
  })

  it('keeps dead letters and late events as copies, not as slices of the fetch response they came in', () => {
    // A fetched record's bytes are views into the whole response: a kept slice would keep it all until the flush.
    const response = Buffer.alloc(1 << 20)
    const slice = (text: string, at: number) => response.subarray(at, at + response.write(text, at))
    const tooLate = records[1]!.value.toString().replace(/"eventTime":\d+/, `"eventTime":${START - 86_400_000}`)
    const p = new PartitionProcessor('t.orders', 0, 'order', createJsonCodec('order', { bounds: BOUNDS }), PIPELINES, DEFAULT_EVENT_TIME_POLICY, null, null)
    p.handle({ ...records[0]!, key: slice('k0', 0), value: slice('{oops', 100), headers: { h: slice('v', 200) } })
    p.handle(records[2]!)
    p.handle({ ...records[1]!, offset: '3', key: slice('k1', 300), value: slice(tooLate, 400) })
    const plan = p.takeFlush()!
    const kept = [plan.deadLetters[0]!.record, plan.late[0]!.record]
    expect(kept.map((r) => [r.key?.toString(), r.value?.toString()])).toEqual([['k0', '{oops'], ['k1', tooLate]])
    expect((kept[0]!.headers.h as Buffer).toString()).toBe('v')
    for (const b of [...kept.flatMap((r) => [r.key, r.value]), kept[0]!.headers.h as Buffer]) expect(b!.buffer).not.toBe(response.buffer)
  })

  it('dead-letters a record whose events belong to another stream than its topic feeds (a source spec that names the wrong stream)', () => {
    const p = new PartitionProcessor('t.orders', 0, 'order', createDebeziumCodec({ bounds: BOUNDS }), PIPELINES, DEFAULT_EVENT_TIME_POLICY, null, null)
    const row = { warehouse_id: 'wh-1', community_id: 'c-1', sku: 'sku-1', batch_id: 'b-1', qty: 5, production_date: 20_773, expiry_date: 20_778, updated_at: NOW - 3_600_000 }
    const change = { op: 'c', before: null, after: row, source: { table: 'inventory', ts_ms: NOW - 3_600_000 } }
    p.handle({ offset: '0', key: null, value: Buffer.from(JSON.stringify(change)), headers: {}, timestamp: '0' })
    const plan = p.takeFlush()!
    expect(plan.deadLetters.map((d) => [d.error.code, d.error.reason])).toEqual([['DECODE_STREAM_MISMATCH', expect.stringMatching(/an event of the inventory stream on t.orders, which feeds the order stream/)]])
    expect(plan.stream).toBeNull()
  })

  it('names inserts by pipeline, table, topic, partition and range', () => {
    expect(deduplicationToken('gmv', 'gmv_minute', 'streamcube.orders', 3, '100', '250')).toBe('gmv/gmv_minute/streamcube.orders/3/100-250')
  })
})

describe('stream rows (the views build the cubes from them)', () => {
  it('are one row per accepted event, in offset order, with the set\'s mask of the pipelines that read the stream', () => {
    const p = new PartitionProcessor('t.orders', 0, 'order', createJsonCodec('order', { bounds: BOUNDS }), [gmv, products], DEFAULT_EVENT_TIME_POLICY, null, null)
    for (const r of records.slice(0, 200)) p.handle(r)
    p.handle({ ...records[199]!, offset: '200' }) // sent again: a duplicate, not a second row
    const plan = p.takeFlush()!
    expect(plan.stream?.table).toBe('order_stream')
    const values = JSON.parse(`[${plan.stream!.payload.bytes.toString()}]`) as unknown[][]
    const column = (name: string) => values.map((v) => v[plan.stream!.columns.indexOf(name)])
    expect(values).toHaveLength(plan.counts.accepted)
    expect(plan.stream!.rows).toBe(plan.counts.accepted)
    expect(plan.counts.duplicates).toBe(1)
    expect(new Set(column('pipes'))).toEqual(new Set([(1 << gmv.bit) | (1 << products.bit)]))
    const offsets = column('source_offset').map(Number)
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
    for (const v of values) expect(v).toHaveLength(plan.stream!.columns.length)
    expect(plan.counts.byPipeline).toEqual({ gmv: plan.counts.accepted, products: plan.counts.accepted })
  })

  it('are not built for a stream that no pipeline of the set reads', () => {
    expect(pipesMask(PIPELINES.filter((x) => !x.sources.includes('inventory')), 'inventory')).toBe(0)
    const inventoryOnly = PIPELINES.filter((x) => x.name === 'inventory')
    const p = new PartitionProcessor('t.orders', 0, 'order', createJsonCodec('order', { bounds: BOUNDS }), inventoryOnly, DEFAULT_EVENT_TIME_POLICY, null, null)
    for (const r of records.slice(0, 20)) p.handle(r)
    const plan = p.takeFlush()!
    expect(plan.stream).toBeNull()
    expect(plan.rows.get('quality')!.get('quality_minute')!.length).toBeGreaterThan(0)
  })

  it('are serialised in chunks as they come, whose bytes are the one serialisation of all rows', () => {
    const chunks = new StreamChunks()
    const rows = Array.from({ length: 2500 }, (_, i) => [`e${i}`, i, i % 2 === 0 ? null : 'x,y"],[z 杭州', [1, 2]])
    for (const r of rows) chunks.push(r)
    const block = chunks.take('t', ['a', 'b', 'c', 'd'])!
    expect(block.rows).toBe(2500)
    expect(block.payload.bytes.toString()).toBe(JSON.stringify(rows).slice(1, -1))
    expect(chunks.take('t', [])).toBeNull()
  })

  it('give every pipeline its own bit', () => {
    expect(new Set(PIPELINES.map((x) => x.bit)).size).toBe(PIPELINES.length)
    for (const x of PIPELINES) expect(x.bit).toBeLessThan(53)
  })
})

/** The typed event of a JSON-encoded generated record. */
function decodeJson(value: Buffer): TypedEvent {
  const r = createJsonCodec('order', { bounds: BOUNDS }).decode(value)
  if (!r.ok) throw new Error(r.error.message)
  return r.value[0]!
}

describe('data quality counts', () => {
  it('count the records that decoded by writer schema (Confluent schema id), dead letters apart', async () => {
    // Two writer schema ids of the same record type, as after a compatible schema change: id 2 is
    // local, id 12 comes from the registry (here the same schema registered again).
    const registry = { fetch: async (id: number) => (id === 12 ? avroType('order') : undefined), register: async () => 12 }
    const codec = createConfluentCodec({ registry, bounds: BOUNDS })
    const orders = records.slice(0, 30).map((r) => decodeJson(r.value))
    const v1 = createConfluentEncoder(LOCAL_SCHEMA_IDS)
    const v2 = createConfluentEncoder({ ...LOCAL_SCHEMA_IDS, order: 12 })
    const batch = orders.map((e, i) => ({ offset: String(i), key: Buffer.from('k'), value: (i % 3 === 0 ? v2 : v1).encode(e), headers: {}, timestamp: '0' }))
    batch.push({ offset: '30', key: Buffer.from('k'), value: Buffer.from([0, 0, 0, 0, 99, 1]), headers: {}, timestamp: '0' })
    await codec.prepare!(batch.map((r) => r.value))
    const p = new PartitionProcessor('t.orders', 0, 'order', codec, PIPELINES, DEFAULT_EVENT_TIME_POLICY, null, null)
    for (const r of batch) p.handle(r)
    const quality = p.takeFlush()!.rows.get('quality')!.get('quality_minute')!
    const byKind = (kind: string) => Object.fromEntries(quality.filter((q) => q.kind === kind).map((q) => [q.code, q.events]))
    expect(byKind('schema')).toEqual({ 'confluent-avro:2': 20, 'confluent-avro:12': 10 })
    expect(byKind('records')).toEqual({ '': 31 })
    expect(byKind('dead_letter')).toEqual({ DECODE_UNKNOWN_SCHEMA_ID: 1 })
  })
})

describe('insert payloads (pooled buffers)', () => {
  it('hold the appended texts joined by the separator, in UTF-8, multi-byte characters included, across growths', () => {
    const pool = new BufferPool(1 << 24)
    const w = new PayloadWriter(pool)
    const texts = ['["a",1]', '["杭州 ✓",2],["x",3]', '["é"]', 'x'.repeat(200_000), '["杭州"]'.repeat(30_000)]
    for (const t of texts) w.append(t, 0x2c)
    const p = w.take()!
    expect(p.bytes.toString()).toBe(texts.join(','))
    expect(p.bytes.length).toBe(Buffer.byteLength(texts.join(',')))
    expect(w.take()).toBeNull()
  })

  it('come back to the pool once released, and are taken again instead of new memory', () => {
    const pool = new BufferPool(1 << 24)
    const w = new PayloadWriter(pool)
    w.append('["first"]')
    const first = w.take()!
    const memory = first.bytes.buffer
    first.release()
    first.release() // a second release gives nothing back twice
    expect(pool.heldBytes).toBe(64 * 1024)
    w.append('["second"]')
    const second = w.take()!
    expect(second.bytes.buffer).toBe(memory)
    expect(second.bytes.toString()).toBe('["second"]')
    expect(pool.heldBytes).toBe(0)
  })

  it('join several into one pooled buffer and give the parts back; one part passes through', () => {
    const pool = new BufferPool(1 << 24)
    const make = (t: string) => {
      const w = new PayloadWriter(pool)
      w.append(t)
      return w.take()!
    }
    const one = make('[1]')
    expect(joinPayloads([one], 0x2c, pool)).toBe(one)
    const joined = joinPayloads([make('[1]'), make('["é"]'), make('[3]')], 0x2c, pool)
    expect(joined.bytes.toString()).toBe('[1],["é"],[3]')
    expect(pool.heldBytes).toBe(3 * 64 * 1024)
  })

  it('give up what they hold beyond a lowered bound, largest first', () => {
    const pool = new BufferPool(1 << 20)
    for (const size of [64, 128, 256, 64].map((k) => k * 1024)) pool.give(Buffer.alloc(size))
    expect(pool.heldBytes).toBe(512 * 1024)
    pool.resize(200 * 1024)
    expect(pool.heldBytes).toBe(2 * 64 * 1024) // 256 KiB, then 128 KiB, were let go
    expect(pool.take(64 * 1024).length).toBe(64 * 1024)
    expect(pool.heldBytes).toBe(64 * 1024)
    pool.resize(0)
    expect(pool.heldBytes).toBe(0)
    pool.give(Buffer.alloc(64 * 1024))
    expect(pool.heldBytes).toBe(0)
  })

  it('hold no more than the pool\'s bound', () => {
    const pool = new BufferPool(100 * 1024)
    pool.give(Buffer.alloc(64 * 1024))
    pool.give(Buffer.alloc(64 * 1024))
    expect(pool.heldBytes).toBe(64 * 1024)
    expect(pool.take(1).length).toBe(64 * 1024)
    expect(pool.take(70 * 1024).length).toBe(128 * 1024)
  })
})

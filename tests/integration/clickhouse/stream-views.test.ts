import { describe, expect, it } from 'vitest'
import { PIPELINES, gmv, activity } from '../../../pipelines/index.js'
import { STREAM_COLUMNS, STREAM_TABLES, streamRow } from '../../../engine/index.js'
import type { OrderEvent } from '../../../schemas/index.js'
import { insertValues, type ClickHouse } from '../../../sinks/index.js'
import { testDatabase } from '../../services/clickhouse.js'

const T0 = Date.UTC(2026, 10, 20, 4, 0, 0)
let seq = 0
function order(status: OrderEvent['status'], lines: [string, number, number][], refundCents: number | null = null): OrderEvent {
  seq++
  return {
    eventId: `e${seq}`,
    eventTime: T0 + seq,
    orderId: `o${seq}`,
    status,
    userId: `u${seq % 3}`,
    communityId: 'c1',
    leaderId: 'l1',
    lines: lines.map(([categoryId, qty, unitPriceCents], i) => ({ sku: `s${i}`, categoryId, qty, unitPriceCents })),
    amountCents: lines.reduce((a, [, q, p]) => a + q * p, 0),
    refundCents,
    complaintReason: null,
    deliveryLat: 30.28,
    deliveryLon: 120.15,
    customer: { name: 'n', phone: '123', address: 'a' },
  }
}
const rowsOf = (events: OrderEvent[], pipes: number) => events.map((e, i) => streamRow({ type: 'order', event: e }, { topic: 't', partition: 0, offset: String(i) }, pipes))

async function query<T>(ch: ClickHouse, sql: string): Promise<T[]> {
  return (await ch.client.query({ query: sql, format: 'JSONEachRow' })).json<T>()
}

describe('the stream views (cubes built by ClickHouse from a flush block)', () => {
  const ch = testDatabase('views')

  it('test exactly the bit of the pipeline that owns their target table', async () => {
    const views = await query<{ name: string; q: string }>(ch, "SELECT name, create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND engine = 'MaterializedView' AND name LIKE '%\\\\_from\\\\_%'")
    const targets = new Set<string>()
    for (const v of views) {
      const target = /\bTO\s+(?:`?\w+`?\.)?`?(\w+)`?/.exec(v.q)?.[1]
      const bit = Number(/bitTest\(pipes, (\d+)\)/.exec(v.q)?.[1])
      targets.add(target ?? '')
      const owner = PIPELINES.find((p) => p.tables.includes(target ?? ''))
      expect({ view: v.name, bit: owner?.bit }).toEqual({ view: v.name, bit })
      expect(Object.values(STREAM_TABLES).some((s) => v.q.includes(`.${s}`))).toBe(true)
    }
    // Every table of every pipeline is filled by a view.
    expect([...targets].sort()).toEqual(PIPELINES.flatMap((p) => p.tables).sort())
  })

  it('split a refund over the categories by line value in exact cents (largest remainder, ties to the earlier line)', async () => {
    const cases: [string, [string, number, number][], number, number[]][] = [
      ['equal thirds', [['a', 1, 100], ['b', 1, 100], ['c', 1, 100]], 100, [34, 33, 33]],
      ['by value', [['a', 3, 100], ['b', 7, 100]], 1000, [300, 700]],
      ['free lines: all to the first', [['a', 1, 0], ['b', 2, 0]], 7, [7, 0]],
      ['largest remainder wins', [['a', 1, 1], ['b', 1, 2]], 2, [1, 1]],
    ]
    for (const [name, lines, refund, expected] of cases) {
      const e = order('refunded', lines.map(([c, q, p]) => [`${name}-${c}`, q, p]), refund)
      await insertValues(ch, 'order_stream', STREAM_COLUMNS.order, rowsOf([e], 1 << gmv.bit), { deduplicationToken: `split/${name}` })
      const got = await query<{ category_id: string; r: string }>(ch, `SELECT category_id, sum(refund_cents) r FROM gmv_minute WHERE category_id LIKE '${name}-%' GROUP BY category_id ORDER BY category_id`)
      expect({ name, shares: got.map((g) => Number(g.r)) }).toEqual({ name, shares: expected })
    }
    // Many odd splits add up to the refund exactly.
    const many = Array.from({ length: 300 }, (_, i) => order('refunded', Array.from({ length: 1 + (i % 5) }, (_, k) => [`many-${k}`, 1 + (k % 3), ((i * 7 + k * 13) % 50) + 1] as [string, number, number]), i * 3 + 1))
    for (const e of many) e.amountCents = Math.max(e.amountCents, e.refundCents ?? 0)
    await insertValues(ch, 'order_stream', STREAM_COLUMNS.order, rowsOf(many, 1 << gmv.bit), { deduplicationToken: 'split/many' })
    const [total] = await query<{ r: string }>(ch, "SELECT sum(refund_cents) r FROM gmv_minute WHERE category_id LIKE 'many-%'")
    expect(Number(total?.r)).toBe(many.reduce((a, e) => a + (e.refundCents ?? 0), 0))
  })

  it('fill only the cubes of the pipelines in the block\'s mask, and drop a replayed block in every target', async () => {
    const events = [order('created', [['mask', 1, 500]]), order('paid', [['mask', 2, 500]])]
    const activityOnly = rowsOf(events, 1 << activity.bit)
    const read = async () => {
      const [g] = await query<{ g: string }>(ch, "SELECT sum(gmv_cents) g FROM gmv_minute WHERE category_id = 'mask'")
      const [a] = await query<{ n: string }>(ch, `SELECT sum(events) n FROM activity_minute WHERE window_start = toStartOfMinute(fromUnixTimestamp64Milli(${events[0]!.eventTime}, 'UTC')) AND action = 'order'`)
      const [h] = await query<{ g: string }>(ch, `SELECT sum(gmv_cents) g FROM gmv_hour WHERE category_id = 'mask'`)
      return { gmv: Number(g?.g ?? 0), orders: Number(a?.n ?? 0), gmvHour: Number(h?.g ?? 0) }
    }
    await insertValues(ch, 'order_stream', STREAM_COLUMNS.order, activityOnly, { deduplicationToken: 'mask/1' })
    expect(await read()).toEqual({ gmv: 0, orders: 1, gmvHour: 0 })
    const both = rowsOf(events, (1 << activity.bit) | (1 << gmv.bit))
    await insertValues(ch, 'order_stream', STREAM_COLUMNS.order, both, { deduplicationToken: 'mask/2' })
    await insertValues(ch, 'order_stream', STREAM_COLUMNS.order, both, { deduplicationToken: 'mask/2' })
    expect(await read()).toEqual({ gmv: 1000, orders: 2, gmvHour: 1000 })
  })
})

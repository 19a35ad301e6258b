import { describe, expect, it } from 'vitest'
import { EventGenerator } from '../../../generator/index.js'
import { EVENT_TYPES, type EventType, type OrderEvent } from '../../../schemas/index.js'
import { insertRows, RAW_TABLES, rawFactRow, type ClickHouse } from '../../../sinks/index.js'
import { testDatabase } from '../../services/clickhouse.js'

const START = Date.UTC(2026, 10, 15, 16)

async function count(ch: ClickHouse, table: string): Promise<number> {
  const rs = await ch.client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })
  return Number((await rs.json<{ n: string }>())[0]?.n)
}

describe('inserting into ClickHouse', () => {
  const ch = testDatabase('ins')

  const rows = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ event_id: `e${from + i}`, event_time: START + i, action: 'view', user_id: 'u', community_id: 'c', sku: 's', query: null, session_id: 's', device: 'ios', channel: 'app', lat: null, lon: null, source_topic: 't', source_partition: 0, source_offset: String(from + i) }))

  it('a repeated deduplication token drops the replayed batch', async () => {
    await ch.client.command({ query: 'TRUNCATE TABLE behaviour_events' })
    await insertRows(ch, 'behaviour_events', rows(10, 0), { deduplicationToken: 'p/behaviour/0/0-9' })
    await insertRows(ch, 'behaviour_events', rows(10, 0), { deduplicationToken: 'p/behaviour/0/0-9' })
    expect(await count(ch, 'behaviour_events')).toBe(10)
  })

  it('a replayed insert is not counted twice by the hour and day rollups either', async () => {
    const row = { window_start: Math.floor(START / 1000), community_id: 'c-1', leader_id: 'l-1', category_id: 'fruit', gmv_cents: 500, items: 1, orders: '["o1"]', paying_users: '["u1"]', refund_cents: 0, refunded_orders: '[]', cancelled_orders: '[]' }
    for (let i = 0; i < 3; i++) await insertRows(ch, 'gmv_minute', [row], { deduplicationToken: 'gmv/gmv_minute/t/0/0-0', partialAggregates: true })
    const rs = await ch.client.query({ query: 'SELECT (SELECT sum(gmv_cents) FROM gmv_minute) AS m, (SELECT sum(gmv_cents) FROM gmv_hour) AS h, (SELECT sum(gmv_cents) FROM gmv_day) AS d, (SELECT uniqMerge(orders) FROM gmv_hour) AS o', format: 'JSONEachRow' })
    const [sums] = await rs.json<Record<string, string | number>>()
    expect(Object.fromEntries(Object.entries(sums ?? {}).map(([k, v]) => [k, Number(v)]))).toEqual({ m: 500, h: 500, d: 500, o: 1 })
  })

  it('a token does not leak into the next insert (the embedded engine keeps settings per session)', async () => {
    await ch.client.command({ query: 'TRUNCATE TABLE behaviour_events' })
    await insertRows(ch, 'behaviour_events', rows(5, 100), { deduplicationToken: 'tokA' })
    // Different rows, no token: must land, not be dropped as a duplicate of tokA.
    await insertRows(ch, 'behaviour_events', rows(7, 200))
    // And a different token after no token lands too.
    await insertRows(ch, 'behaviour_events', rows(3, 300), { deduplicationToken: 'tokB' })
    expect(await count(ch, 'behaviour_events')).toBe(15)
  })

  it('a batch of one shape (by position) and a batch of mixed shapes (by name) land alike: absent values become defaults, text round-trips', async () => {
    await ch.client.command({ query: 'TRUNCATE TABLE behaviour_events' })
    // Rows of one shape travel comma-separated: a value that looks like a row boundary stays a value.
    const text = 'tab\there "quoted" back\\slash\nnewline € ],[ "],["'
    const shaped = rows(3, 400).map((r, i) => ({ ...r, sku: i === 0 ? undefined : r.sku, query: i === 1 ? text : null }))
    const mixed = rows(3, 500).map((r, i) => (i === 0 ? { ...r, query: text } : (({ sku: _sku, ...rest }) => rest)(r)))
    await insertRows(ch, 'behaviour_events', shaped, { deduplicationToken: 'shape/one' })
    await insertRows(ch, 'behaviour_events', mixed, { deduplicationToken: 'shape/mixed' })
    const rs = await ch.client.query({ query: 'SELECT event_id, sku, query, toUnixTimestamp64Milli(event_time) AS event_ms FROM behaviour_events ORDER BY event_id', format: 'JSONEachRow' })
    expect((await rs.json<Record<string, unknown>>()).map((r) => ({ ...r, event_ms: Number(r.event_ms) }))).toEqual([
      { event_id: 'e400', sku: null, query: null, event_ms: START },
      { event_id: 'e401', sku: 's', query: text, event_ms: START + 1 },
      { event_id: 'e402', sku: 's', query: null, event_ms: START + 2 },
      { event_id: 'e500', sku: 's', query: text, event_ms: START },
      { event_id: 'e501', sku: null, query: null, event_ms: START + 1 },
      { event_id: 'e502', sku: null, query: null, event_ms: START + 2 },
    ])
  })

  it('raw fact rows of generated events hold exactly what the events say (a first oracle)', async () => {
    for (const t of Object.values(RAW_TABLES)) await ch.client.command({ query: `TRUNCATE TABLE ${t}` })
    const records = new EventGenerator({ seed: 9, start: START }).take(20_000)
    const byType: Record<EventType, Record<string, unknown>[]> = { behaviour: [], order: [], inventory: [] }
    records.forEach((r, i) => byType[r.type].push(rawFactRow(r.event, { topic: r.type, partition: 0, offset: String(i) })))
    for (const t of EVENT_TYPES) await insertRows(ch, RAW_TABLES[t], byType[t], { deduplicationToken: `oracle/${t}` })

    for (const t of EVENT_TYPES) expect(await count(ch, RAW_TABLES[t])).toBe(byType[t].length)
    // Paid GMV per community, computed in JS from the events and in SQL from the table.
    const expected = new Map<string, number>()
    for (const r of records) {
      if (r.type !== 'order') continue
      const o = r.event.event as OrderEvent
      if (o.status === 'paid') expected.set(o.communityId, (expected.get(o.communityId) ?? 0) + o.amountCents)
    }
    const rs = await ch.client.query({
      query: "SELECT community_id, sum(amount_cents) AS gmv, sum(arraySum(arrayMap((q, p) -> q * p, line_qty, line_unit_price_cents))) AS lines FROM order_events WHERE status = 'paid' GROUP BY community_id",
      format: 'JSONEachRow',
    })
    const actual = await rs.json<{ community_id: string; gmv: string; lines: string }>()
    expect(new Map(actual.map((r) => [r.community_id, Number(r.gmv)]))).toEqual(expected)
    for (const r of actual) expect(Number(r.lines)).toBe(Number(r.gmv))
  })
})

import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createWorker, EngineMetrics } from '../../../engine/index.js'
import { selectPipelines } from '../../../pipelines/index.js'
import { loadConfig } from '../../../schemas/index.js'
import { brokers } from '../../services/kafka.js'
import { engineSuite, silent, topicCount, waitFor } from '../engine/harness.js'
import { cubeTotals, type Totals } from './shop.js'

/*
 * Issue 19: the Canal path through Kafka. Canal's server is not on the package registries, so the
 * test is Canal's producer: flat JSON messages as Canal's Kafka sink writes them (one message per
 * statement, `data[]` the rows after it, `old[]` only the changed columns, every value a string,
 * DATETIME in the database's zone, +08:00), with a DDL message and a batch re-delivered (Canal's
 * client acknowledges after the sink, so a restart sends the last batch again). The run reads them
 * with `--source order=canal:… --source inventory=canal:…`; the cubes equal the scenario's truth.
 */

type Row = Record<string, string | null>
const TZ_MS = 8 * 3_600_000

/** DATETIME(3) text in +08:00, as Canal sends it. */
const datetime = (ms: number) => new Date(ms + TZ_MS).toISOString().replace('T', ' ').replace('Z', '')
const dateText = (ms: number) => new Date(ms + TZ_MS).toISOString().slice(0, 10)

class CanalShop {
  readonly messages: { topic: string; key: string; value: string }[] = []
  private readonly orders = new Map<string, Row>()
  private readonly stock = new Map<string, Row>()
  private readonly steps = new Map<string, { status: string; total: number; refund: number }>()
  private clock = Date.now() - 120_000
  private id = 0
  readonly truth: Totals = { steps: 0, gmvCents: 0, refundCents: 0, paidOrders: 0, cancelledOrders: 0, received: 0, stocktakes: 0, counted: 0 }

  constructor(private readonly topics: { order: string; inventory: string }) {}

  private message(table: 'orders' | 'inventory', type: string, data: Row[], old: Row[] | null): void {
    const es = (this.clock += 7)
    const topic = table === 'orders' ? this.topics.order : this.topics.inventory
    const value = { data, database: 'shop', es, id: ++this.id, isDdl: false, mysqlType: null, old, pkNames: table === 'orders' ? ['order_id'] : ['warehouse_id', 'sku', 'batch_id'], sql: '', sqlType: null, table, ts: es + 120, type }
    this.messages.push({ topic, key: `${table}:${data[0]?.order_id ?? data[0]?.batch_id}`, value: JSON.stringify(value) })
  }

  ddl(): void {
    const es = (this.clock += 7)
    this.messages.push({ topic: this.topics.order, key: 'ddl', value: JSON.stringify({ data: null, database: 'shop', es, id: ++this.id, isDdl: true, mysqlType: null, old: null, pkNames: null, sql: 'ALTER TABLE orders ADD COLUMN note VARCHAR(64) NULL', sqlType: null, table: 'orders', ts: es, type: 'ALTER' }) })
  }

  private step(orderId: string, row: Row): void {
    const key = `${orderId}:${row.status}`
    if (this.steps.has(key)) return
    const total = Math.round(Number(row.total_amount) * 100)
    const refund = row.refund_amount === null ? 0 : Math.round(Number(row.refund_amount) * 100)
    this.steps.set(key, { status: row.status!, total, refund })
    this.truth.steps++
    if (row.status === 'paid') {
      this.truth.gmvCents += total
      this.truth.paidOrders++
    }
    if (row.status === 'refunded') this.truth.refundCents += refund
    if (row.status === 'cancelled') this.truth.cancelledOrders++
  }

  /** One INSERT statement of `n` orders (one message, several rows). */
  insertOrders(n: number): string[] {
    const rows: Row[] = []
    for (let i = 0; i < n; i++) {
      const k = this.orders.size + 1
      const lines = [{ sku: `sku-${k % 5}`, category_id: `cat-${k % 3}`, qty: String(1 + (k % 3)), unit_price: `${2 + (k % 7)}.50` }]
      const cents = (1 + (k % 3)) * ((2 + (k % 7)) * 100 + 50)
      const row: Row = {
        order_id: `co-${k}`, status: 'created', user_id: `u-${k % 6}`, community_id: `c-${k % 3}`, leader_id: `l-${k % 3}`, total_amount: (cents / 100).toFixed(2), refund_amount: null, complaint_reason: null,
        delivery_lat: '30.25', delivery_lon: '120.16', customer_name: `Name ${k}`, customer_phone: '13900001111', customer_address: `${k} Canal Rd`, lines: JSON.stringify(lines), updated_at: datetime(this.clock),
      }
      this.orders.set(row.order_id!, row)
      this.step(row.order_id!, row)
      rows.push(row)
    }
    this.message('orders', 'INSERT', rows, null)
    return rows.map((r) => r.order_id!)
  }

  /** One UPDATE statement over several rows: `old[]` holds only the changed columns. */
  update(ids: readonly string[], change: Row): void {
    const data: Row[] = []
    const old: Row[] = []
    const updatedAt = datetime((this.clock += 3))
    for (const id of ids) {
      const before = this.orders.get(id)!
      const after: Row = { ...before, ...change, updated_at: updatedAt }
      old.push(Object.fromEntries(Object.keys({ ...change, updated_at: '' }).map((c) => [c, before[c] ?? null])))
      this.orders.set(id, after)
      if (after.status !== before.status) this.step(id, after)
      data.push(after)
    }
    this.message('orders', 'UPDATE', data, old)
  }

  deleteOrder(id: string): void {
    this.message('orders', 'DELETE', [this.orders.get(id)!], null)
    this.orders.delete(id)
  }

  receive(n: number): string[] {
    const rows: Row[] = []
    for (let i = 0; i < n; i++) {
      const k = this.stock.size + 1
      const row: Row = { warehouse_id: `wh-${k % 2}`, community_id: `c-${k % 3}`, sku: `sku-${k % 5}`, batch_id: `cb-${k}`, qty: String(10 + k), production_date: dateText(this.clock - 86_400_000), expiry_date: dateText(this.clock + 4 * 86_400_000), updated_at: datetime(this.clock) }
      this.stock.set(row.batch_id!, row)
      this.truth.received += 10 + k
      rows.push(row)
    }
    this.message('inventory', 'INSERT', rows, null)
    return rows.map((r) => r.batch_id!)
  }

  count(batch: string, qty: number): void {
    const before = this.stock.get(batch)!
    const after = { ...before, qty: String(qty), updated_at: datetime((this.clock += 3)) }
    this.stock.set(batch, after)
    this.truth.stocktakes++
    this.truth.counted += qty
    this.message('inventory', 'UPDATE', [after], [{ qty: before.qty ?? null, updated_at: before.updated_at ?? null }])
  }

  /** Orders the app itself writes as JSON events to its own topic: a second source of the order stream. */
  appOrders(topic: string, n: number): void {
    for (let k = 1; k <= n; k++) {
      const cents = 1000 + k * 111
      const order = {
        orderId: `app-${k}`, userId: `u-${k}`, communityId: 'c-1', leaderId: 'l-1', lines: [{ sku: 'sku-1', categoryId: 'cat-1', qty: 1, unitPriceCents: cents }], amountCents: cents,
        refundCents: null, complaintReason: null, deliveryLat: 30.2, deliveryLon: 120.1, customer: { name: 'App User', phone: '13700000000', address: 'App Rd' },
      }
      for (const status of ['created', 'paid']) {
        const event = { ...order, eventId: `app-${k}-${status}`, eventTime: (this.clock += 5), status }
        this.messages.push({ topic, key: order.orderId, value: JSON.stringify(event) })
        this.step(order.orderId, { status, total_amount: (cents / 100).toFixed(2), refund_amount: null })
      }
    }
  }

  deleteBatch(batch: string): void {
    this.message('inventory', 'DELETE', [this.stock.get(batch)!], null)
    this.stock.delete(batch)
    this.truth.stocktakes++
  }
}

describe('CDC: Canal flat messages → Kafka → cubes', () => {
  const suite = engineSuite('cdc_canal')

  it('inserts, status steps, a refund, an address edit, deletes, a DDL message and a re-delivered batch, with the app\'s own order topic as a second source: cubes equal the scenario, nothing twice', { timeout: 180_000 }, async () => {
    const { kafka, admin, ch } = suite
    const topics = { order: `${suite.prefix}canal.orders`, inventory: `${suite.prefix}canal.inventory` }
    const appTopic = `${suite.prefix}orders`
    await admin.createTopics({ waitForLeaders: true, topics: [...Object.values(topics), appTopic].map((topic) => ({ topic, numPartitions: 3 })) })
    const shop = new CanalShop(topics)
    const orders = shop.insertOrders(30)
    shop.update(orders.slice(0, 26), { status: 'paid' })
    shop.update(orders.slice(26, 29), { status: 'cancelled' })
    for (const status of ['accepted', 'sorted', 'out_for_delivery', 'delivered']) shop.update(orders.slice(0, 15), { status })
    shop.update([orders[2]!], { status: 'refunded', refund_amount: '3.50' })
    shop.update([orders[4]!], { status: 'complaint', complaint_reason: 'late_delivery' })
    shop.update(orders.slice(15, 20), { customer_address: 'the back door' })
    shop.ddl()
    shop.deleteOrder(orders[29]!)
    const batches = shop.receive(8)
    shop.count(batches[0]!, 15)
    shop.count(batches[1]!, 3)
    shop.deleteBatch(batches[7]!)
    shop.appOrders(appTopic, 6)
    // Canal's client restarted before acknowledging: the last batch of messages comes again.
    const redelivered = shop.messages.slice(-12)

    const producer = kafka.producer()
    await producer.connect()
    for (const m of [...shop.messages, ...redelivered]) await producer.send({ topic: m.topic, messages: [{ key: m.key, value: m.value }] })
    await producer.disconnect()

    const config = loadConfig({ KAFKA_TOPIC_PREFIX: suite.prefix, LOG_LEVEL: 'warn' }, { sources: [`order=canal:${topics.order}`, `order=json:${appTopic}`, `inventory=canal:${topics.inventory}`] })
    const worker = createWorker({ config, brokers: brokers(), pipelines: selectPipelines(['gmv', 'lifecycle', 'inventory', 'facts']), groupId: `canal-${randomBytes(3).toString('hex')}`, ch, log: silent, metrics: new EngineMetrics() })
    const running = worker.run()
    running.catch(() => {})
    let last = await cubeTotals(ch)
    await Promise.race([
      waitFor('the cubes to equal the scenario', async () => {
        last = await cubeTotals(ch)
        return JSON.stringify(last) === JSON.stringify(shop.truth)
      }, 60_000).catch(() => {}),
      running,
    ])
    expect(shop.truth.steps).toBeGreaterThan(100)
    expect(last).toEqual(shop.truth)
    await worker.stop()
    expect(await topicCount(admin, `${suite.prefix}dead-letter`).catch(() => 0), 'nothing dead-lettered').toBe(0)
  })
})

import { readFileSync } from 'node:fs'
import { inject } from 'vitest'
import { mariaDbQuery, type MariaDbAddress } from '../../../scripts/connect/mariadb.js'
import { queryRows, type ClickHouse } from '../../../sinks/index.js'

/*
 * The README's `orders` and `inventory` tables in the run's MariaDB, their change history (kept
 * by triggers: the oracle) and a scripted shop: inserts, the lifecycle created → paid → … →
 * delivered, cancellations, a refund, a complaint, address-only edits, deletes; receipts,
 * stocktakes and a deleted batch.
 */

export const mariadb = (): MariaDbAddress => ({ host: '127.0.0.1', port: inject('mariadbPort'), user: 'root', password: '' })

const SHOP_SQL = readFileSync(new URL('../../../scripts/connect/shop.sql', import.meta.url), 'utf8')

const HISTORY = `
CREATE TABLE change_history (
  seq BIGINT AUTO_INCREMENT PRIMARY KEY, tbl VARCHAR(16) NOT NULL, op CHAR(1) NOT NULL,
  order_id VARCHAR(64), status VARCHAR(32), old_status VARCHAR(32), total_amount DECIMAL(12,2), refund_amount DECIMAL(12,2),
  warehouse_id VARCHAR(64), sku VARCHAR(64), batch_id VARCHAR(64), qty INT
);
CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW
  INSERT INTO change_history (tbl, op, order_id, status, total_amount, refund_amount) VALUES ('orders', 'c', NEW.order_id, NEW.status, NEW.total_amount, NEW.refund_amount);
CREATE TRIGGER orders_au AFTER UPDATE ON orders FOR EACH ROW
  INSERT INTO change_history (tbl, op, order_id, status, old_status, total_amount, refund_amount) VALUES ('orders', 'u', NEW.order_id, NEW.status, OLD.status, NEW.total_amount, NEW.refund_amount);
CREATE TRIGGER orders_ad AFTER DELETE ON orders FOR EACH ROW
  INSERT INTO change_history (tbl, op, order_id, status) VALUES ('orders', 'd', OLD.order_id, OLD.status);
CREATE TRIGGER inventory_ai AFTER INSERT ON inventory FOR EACH ROW
  INSERT INTO change_history (tbl, op, warehouse_id, sku, batch_id, qty) VALUES ('inventory', 'c', NEW.warehouse_id, NEW.sku, NEW.batch_id, NEW.qty);
CREATE TRIGGER inventory_au AFTER UPDATE ON inventory FOR EACH ROW
  INSERT INTO change_history (tbl, op, warehouse_id, sku, batch_id, qty) VALUES ('inventory', 'u', NEW.warehouse_id, NEW.sku, NEW.batch_id, NEW.qty);
CREATE TRIGGER inventory_ad AFTER DELETE ON inventory FOR EACH ROW
  INSERT INTO change_history (tbl, op, warehouse_id, sku, batch_id, qty) VALUES ('inventory', 'd', OLD.warehouse_id, OLD.sku, OLD.batch_id, 0);
`

export class Shop {
  private orders = 0
  private batches = 0
  constructor(readonly database: string) {}

  create(): void {
    mariaDbQuery(mariadb(), `CREATE DATABASE ${this.database}`)
    this.sql(`${SHOP_SQL}\n${HISTORY}`)
  }

  drop(): void {
    mariaDbQuery(mariadb(), `DROP DATABASE IF EXISTS ${this.database}`)
  }

  sql(statements: string): (string | null)[][] {
    return mariaDbQuery(mariadb(), statements, this.database)
  }

  /** Inserts `n` created orders; returns their ids. Amounts are the lines' sum, in cents exactly. */
  insertOrders(n: number): string[] {
    const ids: string[] = []
    const values: string[] = []
    for (let i = 0; i < n; i++) {
      const k = ++this.orders
      const id = `o-${k}`
      const lines = [
        { sku: `sku-${k % 7}`, category_id: `cat-${k % 3}`, qty: 1 + (k % 4), unit_price: `${3 + (k % 5)}.${String((k * 37) % 100).padStart(2, '0')}` },
        { sku: `sku-${(k + 3) % 7}`, category_id: `cat-${(k + 1) % 3}`, qty: 1, unit_price: '12.80' },
      ]
      const cents = lines.reduce((s, l) => s + l.qty * Math.round(Number(l.unit_price) * 100), 0)
      const total = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`
      values.push(
        `('${id}', 'created', 'u-${k % 9}', 'c-${k % 4}', 'l-${k % 4}-1', ${total}, NULL, NULL, 30.${20 + (k % 10)}, 120.${10 + (k % 10)}, 'Name ${k}', '1380000${String(k).padStart(4, '0')}', '${k} West Lake Rd', '${JSON.stringify(lines)}', UTC_TIMESTAMP(3))`,
      )
      ids.push(id)
    }
    this.sql(`INSERT INTO orders VALUES ${values.join(',\n')}`)
    return ids
  }

  status(ids: readonly string[], status: string, extra = ''): void {
    if (ids.length) this.sql(`UPDATE orders SET status = '${status}'${extra}, updated_at = UTC_TIMESTAMP(3) WHERE order_id IN (${ids.map((i) => `'${i}'`).join(',')})`)
  }

  /** Status steps through the lifecycle, one statement per step. */
  deliver(ids: readonly string[]): void {
    for (const s of ['accepted', 'sorted', 'out_for_delivery', 'delivered']) this.status(ids, s)
  }

  refund(id: string, amount: string): void {
    this.status([id], 'refunded', `, refund_amount = ${amount}`)
  }

  /** An address-only edit: no lifecycle step, though updated_at moves. */
  moveAddress(ids: readonly string[]): void {
    if (ids.length) this.sql(`UPDATE orders SET customer_address = CONCAT(customer_address, ', back door'), updated_at = UTC_TIMESTAMP(3) WHERE order_id IN (${ids.map((i) => `'${i}'`).join(',')})`)
  }

  deleteOrders(ids: readonly string[]): void {
    this.sql(`DELETE FROM orders WHERE order_id IN (${ids.map((i) => `'${i}'`).join(',')})`)
  }

  receive(n: number): { wh: string; sku: string; batch: string }[] {
    const keys = Array.from({ length: n }, () => {
      const k = ++this.batches
      return { wh: `wh-${k % 3}`, sku: `sku-${k % 7}`, batch: `b-${k}` }
    })
    this.sql(
      `INSERT INTO inventory VALUES ${keys.map((b, i) => `('${b.wh}', 'c-${i % 4}', '${b.sku}', '${b.batch}', ${20 + i}, UTC_DATE() - INTERVAL 1 DAY, UTC_DATE() + INTERVAL ${3 + (i % 5)} DAY, UTC_TIMESTAMP(3))`).join(',\n')}`,
    )
    return keys
  }

  count(keys: readonly { wh: string; sku: string; batch: string }[], less: number): void {
    for (const b of keys) this.sql(`UPDATE inventory SET qty = GREATEST(qty - ${less}, 0), updated_at = UTC_TIMESTAMP(3) WHERE warehouse_id = '${b.wh}' AND sku = '${b.sku}' AND batch_id = '${b.batch}'`)
  }

  deleteBatch(b: { wh: string; sku: string; batch: string }): void {
    this.sql(`DELETE FROM inventory WHERE warehouse_id = '${b.wh}' AND sku = '${b.sku}' AND batch_id = '${b.batch}'`)
  }

  /** Row changes so far (one binlog row event each): what the connector must have sent. */
  changes(): number {
    return Number(this.sql('SELECT COUNT(*) FROM change_history')[0]?.[0] ?? 0)
  }

  /** The oracle: what the cubes must hold, from the tables' change history. */
  truth(): Totals {
    const [o] = this.sql(`
      SELECT COUNT(*), COALESCE(SUM(IF(status = 'paid', total_amount * 100, 0)), 0), COALESCE(SUM(IF(status = 'refunded', refund_amount * 100, 0)), 0),
             COALESCE(SUM(status = 'paid'), 0), COALESCE(SUM(status = 'cancelled'), 0)
      FROM (SELECT order_id, status, MIN(total_amount) AS total_amount, MIN(refund_amount) AS refund_amount FROM change_history
            WHERE tbl = 'orders' AND (op = 'c' OR (op = 'u' AND status <> old_status)) GROUP BY order_id, status) steps`)
    const [i] = this.sql(`
      SELECT COALESCE(SUM(IF(op = 'c', qty, 0)), 0), COALESCE(SUM(op IN ('u', 'd')), 0), COALESCE(SUM(IF(op IN ('u', 'd'), qty, 0)), 0)
      FROM change_history WHERE tbl = 'inventory'`)
    const n = (v: string | null | undefined) => Number(v ?? 0)
    return { steps: n(o?.[0]), gmvCents: n(o?.[1]), refundCents: n(o?.[2]), paidOrders: n(o?.[3]), cancelledOrders: n(o?.[4]), received: n(i?.[0]), stocktakes: n(i?.[1]), counted: n(i?.[2]) }
  }
}

export interface Totals {
  steps: number
  gmvCents: number
  refundCents: number
  paidOrders: number
  cancelledOrders: number
  received: number
  stocktakes: number
  counted: number
}

/** The same totals from the cubes and raw facts streamcube wrote. */
export async function cubeTotals(ch: ClickHouse): Promise<Totals> {
  const one = async (sql: string) => (await queryRows<Record<string, string | number>>(ch, sql))[0] ?? {}
  const facts = await one('SELECT count() AS steps FROM order_events')
  const gmv = await one('SELECT sum(gmv_cents) AS gmv, sum(refund_cents) AS refund, uniqMerge(orders) AS paid, uniqMerge(cancelled_orders) AS cancelled FROM gmv_minute')
  const batches = await one('SELECT sum(received) AS received FROM inventory_batches')
  const stocktakes = await one('SELECT count() AS n, sum(qty) AS counted FROM inventory_stocktakes')
  const n = (v: unknown) => Number(v ?? 0)
  return { steps: n(facts.steps), gmvCents: n(gmv.gmv), refundCents: n(gmv.refund), paidOrders: n(gmv.paid), cancelledOrders: n(gmv.cancelled), received: n(batches.received), stocktakes: n(stocktakes.n), counted: n(stocktakes.counted) }
}

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { createWorker, EngineMetrics } from '../../../engine/index.js'
import { selectPipelines } from '../../../pipelines/index.js'
import { loadConfig } from '../../../schemas/index.js'
import { debeziumConnector, startLocalConnect, type LocalConnect } from '../../../scripts/connect/connect.js'
import { brokers } from '../../services/kafka.js'
import { engineSuite, silent, topicCount, waitFor } from '../engine/harness.js'
import { cubeTotals, mariadb, Shop } from './shop.js'

/*
 * Issue 19: MariaDB orders and inventory → Debezium (Kafka Connect standalone) → Kafka →
 * `streamcube run --source order=debezium:… --source inventory=debezium:…` → cubes equal to SQL
 * over the tables' change history, with the connector stopped, killed (-9: it replays what it had
 * not yet recorded) and restarted without its offsets (it snapshots every row again) mid-stream.
 */

describe('CDC: MariaDB → Debezium → Kafka → cubes', () => {
  const suite = engineSuite('cdc_debezium')
  const id = randomBytes(4).toString('hex')
  const shop = new Shop(`shop_${id}`)
  const topicPrefix = `${suite.prefix}cdc`
  const connectDir = mkdtempSync(join(tmpdir(), 'streamcube-connect-'))
  let connect: LocalConnect | undefined

  afterAll(async () => {
    await connect?.stop()
    shop.drop()
    rmSync(connectDir, { recursive: true, force: true })
  })

  it('inserts, the lifecycle, a refund, address edits and deletes, across a stop, a kill -9 and a re-snapshot: cubes equal the change history, nothing twice', { timeout: 300_000 }, async () => {
    const { admin, ch } = suite
    shop.create()
    const db = mariadb()
    const connector = debeziumConnector({ name: `shop-${id}`, ...db, database: shop.database, tables: ['orders', 'inventory'], topicPrefix, historyFile: join(connectDir, 'history.dat') })
    // Offsets are recorded on a graceful stop, and otherwise only after a minute: a kill replays.
    const start = (resetOffsets = false) => startLocalConnect({ dataDir: connectDir, brokers: brokers().join(','), connectors: [connector], offsetFlushIntervalMs: 60_000, resetOffsets })
    const topics = { order: `${topicPrefix}.${shop.database}.orders`, inventory: `${topicPrefix}.${shop.database}.inventory` }
    const cdcRecords = async () => (await Promise.all(Object.values(topics).map((t) => topicCount(admin, t).catch(() => 0)))).reduce((a, b) => a + b, 0)

    // Sources from the environment, as an operator sets them.
    const config = loadConfig({ KAFKA_TOPIC_PREFIX: suite.prefix, LOG_LEVEL: 'warn', STREAMCUBE_SOURCES: `order=debezium:${topics.order},inventory=debezium:${topics.inventory}` })
    const worker = createWorker({ config, brokers: brokers(), pipelines: selectPipelines(['gmv', 'lifecycle', 'inventory', 'facts']), groupId: `cdc-${id}`, ch, log: silent, metrics: new EngineMetrics() })
    connect = await start()
    const running = worker.run()
    running.catch(() => {})

    // Phase 1, streamed: orders through the lifecycle, a refund, an address edit, a delete; receipts.
    const first = shop.insertOrders(24)
    shop.status(first.slice(0, 20), 'paid')
    shop.status(first.slice(20, 22), 'cancelled')
    shop.deliver(first.slice(0, 12))
    shop.refund(first[3]!, '5.00')
    shop.status([first[5]!], 'complaint', ", complaint_reason = 'quality'")
    shop.moveAddress(first.slice(12, 18))
    shop.deleteOrders([first[22]!, first[10]!])
    const batches = shop.receive(10)
    shop.count(batches.slice(0, 3), 2)
    await waitFor('Debezium to send phase 1', async () => (await cdcRecords()) >= shop.changes(), 60_000)

    // A graceful stop records the offsets; what changes meanwhile waits in the binlog.
    await connect.stop()
    const second = shop.insertOrders(12)
    shop.status(second, 'paid')
    shop.moveAddress(first.slice(0, 4))
    shop.deleteBatch(batches[9]!)

    // Restarted: it resumes from its offsets. Then killed before it records them again.
    connect = await start()
    const sent = shop.changes()
    await waitFor('Debezium to send phase 2', async () => (await cdcRecords()) >= sent + 2, 60_000)
    await connect.kill()

    // Phase 3 while it is down; the next start replays phase 2 (duplicates) and streams phase 3.
    shop.deliver(second.slice(0, 6))
    shop.refund(second[1]!, '12.80')
    shop.count(batches.slice(3, 6), 1)
    connect = await start()
    const replayedFrom = await cdcRecords()
    await waitFor('Debezium to replay and stream phase 3', async () => (await cdcRecords()) >= replayedFrom + 10, 60_000)

    // Without its offsets, the connector snapshots every row again (op r): the same states again.
    await connect.stop()
    const beforeSnapshot = await cdcRecords()
    const rows = Number(shop.sql('SELECT (SELECT COUNT(*) FROM orders) + (SELECT COUNT(*) FROM inventory)')[0]?.[0])
    connect = await start(true)
    await waitFor('the re-snapshot', async () => (await cdcRecords()) >= beforeSnapshot + rows, 60_000)
    const records = await cdcRecords()
    expect(records, 'the topics hold replays and a snapshot beyond the changes themselves').toBeGreaterThan(shop.changes() + rows)

    const truth = shop.truth()
    expect(truth.steps).toBeGreaterThan(100)
    let last = await cubeTotals(ch)
    await Promise.race([
      waitFor('the cubes to equal the change history', async () => {
        last = await cubeTotals(ch)
        return JSON.stringify(last) === JSON.stringify(truth)
      }, 90_000).catch(() => {}),
      running,
    ])
    expect(last).toEqual(truth)
    await worker.stop()
    expect(await topicCount(admin, `${suite.prefix}dead-letter`).catch(() => 0), 'nothing dead-lettered').toBe(0)
  })
})

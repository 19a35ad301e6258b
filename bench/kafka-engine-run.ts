/**
 * One run of the anchor of bench/vs-kafka-engine.ts, in a process of its own (the embedded engine
 * keeps the memory it took): what a ClickHouse user builds instead of streamcube. Kafka table
 * engines (JSONEachRow, kafka_flush_interval_ms = 500, CONSUMERS consumers per topic, malformed
 * records skipped through kafka_handle_error_mode = 'stream') and a materialized view per topic
 * that maps the JSON fields onto the same stream tables streamcube inserts into — so the same
 * views of sql/migrations build the same cubes. No deduplication by event id, no lateness: every
 * record that parses is counted. The clock runs from the tables' creation until the anchor's
 * consumer group has committed every partition to its end.
 * Env: BROKERS, PREFIX, CONSUMERS (1), PIPELINES (comma-separated names), FORMAT (JSONEachRow, or
 * AvroConfluent with REGISTRY_URL: the records' dates are then Avro strings, read as such). Prints one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { pipesMask } from '../engine/index.js'
import { selectPipelines } from '../pipelines/index.js'
import { EventTypes, type EventType } from '../schemas/index.js'
import { connectClickHouse, migrate } from '../sinks/index.js'
import { committedEverything, cubeTotals, peakRssSampler, threadCpu } from './run-common.js'

const env = process.env
const BROKERS = env.BROKERS ?? '127.0.0.1:9092'
const PREFIX = env.PREFIX ?? 'bench.'
const CONSUMERS = Number(env.CONSUMERS ?? 1)
const FORMAT = env.FORMAT ?? 'JSONEachRow'
if (FORMAT !== 'JSONEachRow' && FORMAT !== 'AvroConfluent') throw new Error(`FORMAT=${FORMAT}: JSONEachRow or AvroConfluent`)
if (FORMAT === 'AvroConfluent' && !env.REGISTRY_URL) throw new Error('FORMAT=AvroConfluent needs REGISTRY_URL')
/** What the format asks of a Kafka table beyond its name. */
const formatSettings = FORMAT === 'AvroConfluent' ? `, format_avro_schema_registry_url = '${env.REGISTRY_URL}'` : ''
const pipelines = selectPipelines((env.PIPELINES ?? '').split(',').filter(Boolean))
const dataDir = mkdtempSync(join(tmpdir(), 'bench-anchor-'))
const group = `anchor-${Date.now()}-${CONSUMERS}`

/** The JSON fields of each topic's records, and how they map onto the stream table's columns. */
const SOURCES: Record<EventType, { columns: string; select: string }> = {
  behaviour: {
    columns: 'eventId String, eventTime Int64, action String, userId String, communityId String, sku Nullable(String), query Nullable(String), sessionId String, device String, channel String, lat Nullable(Float64), lon Nullable(Float64)',
    select: 'eventId AS event_id, fromUnixTimestamp64Milli(eventTime, \'UTC\') AS event_time, action, userId AS user_id, communityId AS community_id, sku, query, sessionId AS session_id, device, channel, lat, lon',
  },
  order: {
    columns:
      'eventId String, eventTime Int64, orderId String, status String, userId String, communityId String, leaderId String, lines Array(Tuple(sku String, categoryId String, qty UInt32, unitPriceCents UInt64)), amountCents UInt64, refundCents Nullable(UInt64), complaintReason Nullable(String), deliveryLat Float64, deliveryLon Float64, customer Tuple(name String, phone String, address String)',
    select:
      "eventId AS event_id, fromUnixTimestamp64Milli(eventTime, 'UTC') AS event_time, orderId AS order_id, status, userId AS user_id, communityId AS community_id, leaderId AS leader_id, arrayMap(l -> l.sku, lines) AS line_sku, arrayMap(l -> l.categoryId, lines) AS line_category_id, arrayMap(l -> l.qty, lines) AS line_qty, arrayMap(l -> l.unitPriceCents, lines) AS line_unit_price_cents, amountCents AS amount_cents, refundCents AS refund_cents, complaintReason AS complaint_reason, deliveryLat AS delivery_lat, deliveryLon AS delivery_lon, customer.name AS customer_name, customer.phone AS customer_phone, customer.address AS customer_address",
  },
  inventory: {
    columns: `eventId String, eventTime Int64, kind String, warehouseId String, communityId String, sku String, batchId Nullable(String), qty UInt64, productionDate Nullable(${FORMAT === 'AvroConfluent' ? 'String' : 'Date'}), expiryDate Nullable(${FORMAT === 'AvroConfluent' ? 'String' : 'Date'}), lossReason Nullable(String), orderId Nullable(String)`,
    select: "eventId AS event_id, fromUnixTimestamp64Milli(eventTime, 'UTC') AS event_time, kind, warehouseId AS warehouse_id, communityId AS community_id, sku, batchId AS batch_id, qty, toDate(productionDate) AS production_date, toDate(expiryDate) AS expiry_date, lossReason AS loss_reason, orderId AS order_id",
  },
}

const kafka = new Kafka({ clientId: 'bench-anchor', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING })
const admin = kafka.admin()

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function main(): Promise<Record<string, unknown>> {
  await admin.connect()
  const ch = await connectClickHouse({ url: null, database: 'anchor', dataDir })
  try {
    await migrate(ch)
    const types = [...new Set(pipelines.flatMap((p) => p.sources))]
    const topics = types.map((t) => `${PREFIX}${EventTypes[t].topic}`)
    const rss = peakRssSampler()
    const cpuFrom = process.cpuUsage()
    const t0 = performance.now()
    for (const type of types) {
      const topic = `${PREFIX}${EventTypes[type].topic}`
      await ch.client.command({
        query: `CREATE TABLE kafka_${type} (${SOURCES[type].columns}) ENGINE = Kafka SETTINGS kafka_broker_list = '${BROKERS}', kafka_topic_list = '${topic}', kafka_group_name = '${group}', kafka_format = '${FORMAT}'${formatSettings}, kafka_num_consumers = ${CONSUMERS}, kafka_flush_interval_ms = 500, kafka_handle_error_mode = 'stream'`,
      })
      await ch.client.command({
        query: `CREATE MATERIALIZED VIEW kafka_${type}_mv TO ${type}_stream AS SELECT ${SOURCES[type].select}, _topic AS source_topic, _partition AS source_partition, _offset AS source_offset, toUInt64(${pipesMask(pipelines, type)}) AS pipes FROM kafka_${type} WHERE length(_error) = 0`,
      })
    }
    while (!(await committedEverything(admin, group, topics))) await sleep(100)
    const seconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpuFrom)
    const peakRss = rss.stop()
    for (const type of types) await ch.client.command({ query: `DROP TABLE kafka_${type}_mv` })
    const threads = threadCpu()
    return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRss, threads, ...(await cubeTotals(ch)) }
  } finally {
    await ch.close()
    await admin.disconnect()
  }
}

try {
  process.stdout.write(`${JSON.stringify(await main())}\n`)
  process.exit(0)
} catch (err) {
  console.error('anchor run failed:', err)
  process.exit(1)
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}

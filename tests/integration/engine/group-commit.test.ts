import { describe, expect, it } from 'vitest'
import { createWorker, decodeCheckpoint, encodeCheckpoint, EngineErrorCode, EngineMetrics, groupId, pipelineSetId, type KafkaWorker } from '../../../engine/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { openSecondConnection } from '../../services/clickhouse.js'
import { brokers } from '../../services/kafka.js'
import { caughtUp, commitCheckpoint, engineConfig, engineSuite, killableSockets, produceRecords, RECENT_START, silent, transports, waitFor } from './harness.js'
import { runOracle } from './oracle.js'
import { plainOrders, plantedStream, topicOf } from './planted.js'

/** The value of a counter or a histogram's count (prom-client's JSON form). */
async function metricValue(metric: { get(): Promise<{ values: { value: number; metricName?: string; labels: Record<string, unknown> }[] }> }, labels: Record<string, string> = {}, suffix = ''): Promise<number> {
  const { values } = await metric.get()
  return values.filter((v) => (suffix ? v.metricName?.endsWith(suffix) : true) && Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0)
}

// Timed flushes and the buffer budget's flushes are group commits: one insert per table for the
// partitions of a worker. A group that dies half-inserted must come back identical, whoever owns
// its members now.
const TRIGGERS = {
  // Only timed flushes, every partition counted as caught up: every flush is a group of all the
  // partitions that hold records.
  timed: { FLUSH_INTERVAL_MS: '300', FLUSH_MAX_RECORDS: '1000000', BUFFER_MAX_RECORDS: '1000000', CATCH_UP_LAG: '1000000000' },
  // The victim flushes only when over a small buffer budget (no timed flush within the test),
  // so the group it dies in is a budget flush; its successors flush on time as above.
  budget: { FLUSH_INTERVAL_MS: '3600000', CATCH_UP_FLUSH_INTERVAL_MS: '3600000', FLUSH_MAX_RECORDS: '1000000', BUFFER_MAX_RECORDS: '4000' },
}

// Timed groups on kafkajs; budget groups on every transport (where node-rdkafka built).
const CASES: [keyof typeof TRIGGERS, 'kafkajs' | 'rdkafka'][] = [['timed', 'kafkajs'], ...transports().map((client): [keyof typeof TRIGGERS, 'kafkajs' | 'rdkafka'] => ['budget', client])]

describe('group commits', () => {
  const suites = new Map(CASES.map(([trigger, client]) => [`${trigger} ${client}`, engineSuite(`group_${trigger}_${client}`)]))

  it.each(CASES)('a group flush (%s, %s) killed after some of its tables landed: each member\'s new owner rebuilds the whole group; cubes equal the oracle', { timeout: 180_000 }, async (trigger, client) => {
    const { kafka, prefix, topics, admin, ch } = suites.get(`${trigger} ${client}`)!
    const config = engineConfig(prefix, { ...TRIGGERS.timed, KAFKA_CLIENT: client, KAFKA_SESSION_TIMEOUT_MS: '6000' })
    const planted = plantedStream({ events: 40_000, seed: 71, start: RECENT_START, allowedLatenessMs: config.engine.allowedLatenessMs })
    // Half the records first: the victim must commit a group before the one it dies in, and on a
    // fast machine one timed round can take a whole backlog read before its first tick.
    const half = Math.floor(planted.records.length / 2)
    await produceRecords(kafka, prefix, planted.records.slice(0, half), 6)
    const groupId = `group-${prefix}`

    // The victim: dies inside its second group flush, after that flush's first table insert.
    const victimSockets = killableSockets()
    const victimMetrics = new EngineMetrics()
    const groupsSeen = new Map<string, number>()
    let crashedIn: string | null = null
    const victim: KafkaWorker = createWorker({
      config: engineConfig(prefix, { ...TRIGGERS[trigger], KAFKA_CLIENT: client, KAFKA_SESSION_TIMEOUT_MS: '6000' }),
      brokers: brokers(),
      pipelines: PIPELINES,
      groupId,
      ch,
      log: silent.child({ worker: 'victim' }),
      clientId: 'group-victim',
      metrics: victimMetrics,
      socketFactory: victimSockets.factory,
      beforeInsert: async (_table, token) => {
        if (crashedIn) return new Promise<never>(() => {}) // a dead process inserts nothing more
        const id = /\/group\/([0-9a-f]+)/.exec(token)?.[1]
        if (!id) return
        const before = groupsSeen.get(id) ?? 0
        groupsSeen.set(id, before + 1)
        if (before === 1 && (await metricValue(victimMetrics.groupMembers, {}, '_count')) >= 1) {
          crashedIn = id
          victim.crash()
          victimSockets.kill()
          return new Promise<never>(() => {})
        }
      },
    })
    void victim.run().catch(() => {})
    await waitFor('the victim to commit a first group', async () => (await metricValue(victimMetrics.groupMembers, {}, '_count')) >= 1, 60_000, 50)
    await produceRecords(kafka, prefix, planted.records.slice(half), 6)
    await waitFor('the victim to die inside a group flush', async () => crashedIn !== null, 60_000, 50)

    // The group is pending on every member, at its first offset.
    const pending = new Map<string, string>()
    for (const topic of topics) {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
      for (const p of offsets?.partitions ?? []) {
        const c = decodeCheckpoint(p.metadata)
        if (c?.group?.id === crashedIn) pending.set(`${topic}:${p.partition}`, p.offset)
      }
    }
    expect(pending.size, 'members of the crashed group on record').toBeGreaterThanOrEqual(2)

    // Two new workers share the partitions; each resolves the members it is given.
    const connections = await Promise.all([0, 1].map(() => openSecondConnection(ch)))
    const metrics = [new EngineMetrics(), new EngineMetrics()]
    const survivors = ['a', 'b'].map((name, i) => createWorker({ config, brokers: brokers(), pipelines: PIPELINES, groupId, ch: connections[i]!, log: silent.child({ worker: name }), clientId: `group-${name}`, metrics: metrics[i] }))
    const runs = survivors.map((w) => w.run())
    const failed = Promise.race(runs.map((r, i) => r.then(() => Promise.reject(new Error(`worker ${'ab'[i]} stopped`)), (err: Error) => Promise.reject(err))))
    failed.catch(() => {})
    await Promise.race([waitFor('the survivors to commit every partition', () => caughtUp(admin, groupId, topics), Number(process.env.GROUP_TEST_WAIT_MS ?? 150_000)), failed])
    for (const w of survivors) await w.stop()
    for (const c of connections) await c.close()

    // Which survivor owned which member is the group's choice; together they rebuilt the group
    // once per owner, and the second insert of each table was dropped as a duplicate.
    const rebuilt = await Promise.all(metrics.map((m) => metricValue(m.groupRecoveries, { outcome: 'rebuilt' })))
    expect(rebuilt[0]! + rebuilt[1]!).toBeGreaterThanOrEqual(1)

    const dups = await ch.client.query({
      query: `SELECT event_id, count() AS n FROM (SELECT event_id FROM behaviour_events UNION ALL SELECT event_id FROM order_events UNION ALL SELECT event_id FROM inventory_events) GROUP BY event_id HAVING n > 1 LIMIT 5`,
      format: 'JSONEachRow',
    })
    expect(await dups.json()).toEqual([])
    const results = await runOracle(ch)
    for (const [name, r] of Object.entries(results)) {
      if (!r.rare) expect(r.oracleRows, `${name}: the oracle side is empty`).toBeGreaterThan(0)
      expect(r.diff, `${name}: rows differing from the oracle ${JSON.stringify({ cube: r.onlyInCube, oracle: r.onlyInOracle })}`).toBe(0)
    }
  })

  it('a group on record for only some of its members stops the worker with the evidence, inserting nothing', { timeout: 60_000 }, async () => {
    const { kafka, prefix, ch, admin } = suites.get('timed kafkajs')!
    const local = `${prefix}lone.`
    const orders = plainOrders(5, RECENT_START, 3_000)
    // Every record in partition 0; partition 1 is added empty, so nothing ever moves its offset
    // (a partition with records of its own would commit past the group's range, which a
    // worker must take as resolved: it cannot tell that from a group it never had).
    await produceRecords(kafka, local, orders, 1)
    const topic = topicOf(local, 'order')
    await admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] })
    const groupIdName = `lone-${prefix}`
    const members = [0, 1].map((partition) => ({ topic, partition, first: '0', last: '9', watermark: null, horizonStart: null }))
    const group = { id: groupId(members), members }
    // Partition 0 names the group; partition 1 never got it (nothing committed there).
    await commitCheckpoint(kafka, groupIdName, topic, [{ partition: 0, offset: '0', metadata: encodeCheckpoint({ watermark: null, horizonStart: null }, pipelineSetId(PIPELINES), '9', group) }])
    const before = await ch.client.query({ query: 'SELECT count() AS n FROM order_events', format: 'JSONEachRow' })
    const rowsBefore = Number((await before.json<{ n: string }>())[0]?.n)

    const worker = createWorker({ config: engineConfig(local), brokers: brokers(), pipelines: PIPELINES, groupId: groupIdName, ch, log: silent })
    const error = await worker.run().then(
      () => null,
      (err: Error & { code?: string }) => err,
    )
    await worker.stop()
    expect(error?.code).toBe(EngineErrorCode.GROUP_NOT_ON_RECORD)
    expect(error?.message).toContain(`${topic}/1`)
    const after = await ch.client.query({ query: 'SELECT count() AS n FROM order_events', format: 'JSONEachRow' })
    expect(Number((await after.json<{ n: string }>())[0]?.n)).toBe(rowsBefore)
  })
})

import { describe, expect, it } from 'vitest'
import { createWorker, sideTopics, type KafkaWorker } from '../../../engine/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { consumeAll } from '../kafka/consume.js'
import { openSecondConnection } from '../../services/clickhouse.js'
import { brokers } from '../../services/kafka.js'
import { caughtUp, committedTotal, engineConfig, engineSuite, killableSockets, produceRecords, RECENT_START, silent, transports, waitFor } from './harness.js'
import { runOracle } from './oracle.js'
import { plantedStream, topicOf } from './planted.js'

const START = RECENT_START
const EVENTS = Number(process.env.SCALE_EVENTS ?? 150_000)

// On the embedded engine the three workers are consumer instances in one process sharing the
// sink (the engine binds one data directory per process); with a ClickHouse server the same
// protocol holds across processes (crash.test.ts kills whole processes).
describe.each(transports())('scale-out (%s): 3 workers in one group over 6 partitions, one dies abruptly mid-run', (client) => {
  const suite = engineSuite(`scale_${client}`)
  const { kafka, prefix } = suite

  it(`${EVENTS} events; the dead worker's partitions are replayed by the others; cubes equal the oracle`, { timeout: 300_000 }, async () => {
    const { admin, ch } = suite
    const config = engineConfig(prefix, { KAFKA_CLIENT: client, KAFKA_SESSION_TIMEOUT_MS: '6000', FLUSH_MAX_RECORDS: '4000' })
    const planted = plantedStream({ events: EVENTS, seed: 44, start: START, allowedLatenessMs: config.engine.allowedLatenessMs })
    // The topics first, empty: the group settles on three members before there is work, so each
    // gets its share (with the records already there, the first to join once did nearly all of
    // it before the others held a partition, and the victim had nothing left to die in).
    await produceRecords(kafka, prefix, [], 6)
    const groupId = `scale-${prefix}`
    const topics = (['behaviour', 'order', 'inventory'] as const).map((t) => topicOf(prefix, t))
    const victimSockets = killableSockets()
    const total = planted.records.length
    const committed = () => committedTotal(admin, groupId, topics)
    // The victim dies inside one of its flushes (its range on record, its inserts begun), once a
    // third of the records are committed: mid-run by construction, not by timing (a fast worker
    // once committed everything between two polls of "a third committed").
    let armed = false // once the group has its three members
    let victimInserts = 0
    let crashedAt: number | null = null
    const dieMidFlush = async (): Promise<void> => {
      if (crashedAt !== null) return new Promise<never>(() => {}) // a dead process inserts nothing more
      if (!armed) return
      victimInserts++
      if (victimInserts < 40 && (await committed()) <= total / 3) return
      crashedAt = await committed()
      workers[1]!.crash()
      victimSockets.kill()
      return new Promise<never>(() => {})
    }
    // One sink (the same engine and database), one connection per worker: an embedded session
    // runs one statement at a time.
    const connections = await Promise.all([0, 1, 2].map(() => openSecondConnection(ch)))
    const workers: KafkaWorker[] = ['a', 'b', 'c'].map((name, i) =>
      createWorker({
        config, brokers: brokers(), pipelines: PIPELINES, groupId, ch: connections[i]!, log: silent.child({ worker: name }), clientId: `scale-${name}`,
        ...(name === 'b' ? { socketFactory: victimSockets.factory, beforeInsert: dieMidFlush } : {}),
      }),
    )
    const runs = workers.map((w) => w.run())
    void runs[1]!.catch(() => {}) // the victim's run ends when it is crashed
    // A survivor's run settles only at stop(): before that, settling is a failure, reported at once.
    const survivorEnded = new Promise<never>((_, reject) => {
      for (const i of [0, 2]) runs[i]!.then(() => reject(new Error(`worker ${'abc'[i]} stopped consuming`)), (err: Error) => reject(new Error(`worker ${'abc'[i]} failed: ${err.message}`)))
    })
    survivorEnded.catch(() => {})
    // Wait until the group has settled on three members, then produce the work.
    await waitFor('three members with assignments', async () => {
      const described = await admin.describeGroups([groupId])
      const members = described.groups[0]?.members ?? []
      return members.length === 3 && described.groups[0]?.state === 'Stable'
    }, 60_000)
    armed = true
    await produceRecords(kafka, prefix, planted.records, 6)
    await waitFor('the victim to die inside a flush', async () => crashedAt !== null, 120_000, 50)
    expect(crashedAt).toBeLessThan(total)

    await Promise.race([waitFor('the survivors to commit every partition', () => caughtUp(admin, groupId, topics), 180_000), survivorEnded])
    await workers[0]!.stop()
    await workers[2]!.stop()
    for (const c of connections) await c.close()

    const valid = planted.records.filter((r) => r.kind === 'normal' || r.kind === 'late-ok').length
    const rs = await ch.client.query({ query: 'SELECT (SELECT count() FROM behaviour_events) + (SELECT count() FROM order_events) + (SELECT count() FROM inventory_events) AS n', format: 'JSONEachRow' })
    const dups = await ch.client.query({
      query: `SELECT event_id, groupArray((source_topic, source_partition, source_offset, ingested_at)) AS copies FROM (
                SELECT event_id, source_topic, source_partition, source_offset, ingested_at FROM behaviour_events
                UNION ALL SELECT event_id, source_topic, source_partition, source_offset, ingested_at FROM order_events
                UNION ALL SELECT event_id, source_topic, source_partition, source_offset, ingested_at FROM inventory_events)
              GROUP BY event_id HAVING count() > 1 LIMIT 5`,
      format: 'JSONEachRow',
    })
    expect(await dups.json()).toEqual([])
    // Conservation: every valid event is counted once or is on the late topic. (Watermarks are per
    // partition, so whether a held-back event is too late depends on its partition's traffic.)
    const side = sideTopics(prefix)
    const lateCount = (await admin.fetchTopicOffsets(side.late)).reduce((n, o) => n + Number(o.high), 0)
    const late = lateCount ? await consumeAll(kafka, [side.late], lateCount) : []
    const lateIds = new Set(late.map((l) => l.headers?.['streamcube-event-id']?.toString()))
    for (const id of lateIds) expect(planted.tooLate.has(id as string), `${id} was not planted late`).toBe(true)
    expect(Number((await rs.json<{ n: string }>())[0]?.n)).toBe(valid + planted.tooLate.size - lateIds.size)
    const results = await runOracle(ch)
    for (const [name, r] of Object.entries(results)) {
      if (!r.rare) expect(r.oracleRows, `${name}: the oracle side is empty`).toBeGreaterThan(0)
      expect(r.diff, `${name}: rows differing from the oracle ${JSON.stringify({ cube: r.onlyInCube, oracle: r.onlyInOracle })}`).toBe(0)
    }
  })
})

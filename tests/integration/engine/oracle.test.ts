import { describe, expect, it } from 'vitest'
import { createWorker, EngineMetrics, sideTopics } from '../../../engine/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { brokers } from '../../services/kafka.js'
import { consumeAll } from '../kafka/consume.js'
import { caughtUp, engineConfig, engineSuite, produceRecords, RECENT_START, silent, transports, waitFor } from './harness.js'
import { runOracle } from './oracle.js'
import { plantedStream, topicOf } from './planted.js'

const START = RECENT_START
const EVENTS = Number(process.env.ORACLE_EVENTS ?? 200_000)

describe.each(transports())('oracle (%s): every cube equals plain SQL over the raw events', (client) => {
  const suite = engineSuite(`oracle_${client}`)
  const { kafka, prefix } = suite

  it(`${EVENTS} events with planted malformed, late, too-late and duplicate records`, async () => {
    const { admin, ch } = suite
    const config = engineConfig(prefix, { KAFKA_CLIENT: client })
    const planted = plantedStream({ events: EVENTS, seed: 21, start: START, allowedLatenessMs: config.engine.allowedLatenessMs })
    await produceRecords(kafka, prefix, planted.records, 3)
    const metrics = new EngineMetrics()
    const groupId = `oracle-${prefix}`
    const worker = createWorker({ config, brokers: brokers(), pipelines: PIPELINES, groupId, ch, log: silent, metrics })
    expect(worker.transport).toBe(client)
    const running = worker.run()
    running.catch(() => {})
    const topics = ['behaviour', 'order', 'inventory'].map((t) => topicOf(prefix, t as 'order'))
    await Promise.race([waitFor('the worker to commit every partition', () => caughtUp(admin, groupId, topics), 180_000), running])
    await worker.stop()

    // Nothing lost: every malformed record is dead-lettered with its reason, every too-late event is on the late topic.
    const side = sideTopics(prefix)
    // The topic holds exactly one copy of each (one worker, no crash, an idempotent producer): a
    // copy names its source position and when it was sent, so a failure shows which one and when.
    const deadInTopic = (await admin.fetchTopicOffsets(side.deadLetter)).reduce((n, o) => n + Number(o.high), 0)
    const dead = await consumeAll(kafka, [side.deadLetter], Math.max(deadInTopic, planted.malformed))
    const copies = new Map<string, string[]>()
    for (const d of dead) {
      const source = `${d.headers?.['streamcube-source-topic']?.toString()}/${d.headers?.['streamcube-source-partition']?.toString()}/${d.headers?.['streamcube-source-offset']?.toString()}`
      copies.set(source, [...(copies.get(source) ?? []), `${d.partition}/${d.offset} at ${d.headers?.['streamcube-time']?.toString()}`])
    }
    const repeated = [...copies].filter(([, c]) => c.length > 1)
    expect(repeated, 'dead letters sent more than once (source → copies)').toEqual([])
    expect(deadInTopic).toBe(planted.malformed)
    expect(dead).toHaveLength(planted.malformed)
    for (const d of dead) {
      expect(d.headers?.['streamcube-error-code']?.toString()).toMatch(/^DECODE_/)
      expect(d.headers?.['streamcube-error-reason']?.toString().length).toBeGreaterThan(0)
      expect(d.headers?.['streamcube-source-offset']).toBeDefined()
    }
    // Watermarks are per partition: a held-back event is too late unless its partition was quiet.
    const lateCount = (await admin.fetchTopicOffsets(side.late)).reduce((n, o) => n + Number(o.high), 0)
    const late = await consumeAll(kafka, [side.late], lateCount)
    const lateIds = new Set(late.map((l) => l.headers?.['streamcube-event-id']?.toString()))
    expect(lateIds.size).toBe(late.length)
    expect(lateIds.size).toBeGreaterThan(planted.tooLate.size * 0.9)
    for (const id of lateIds) expect(planted.tooLate.has(id as string), `${id} was not planted late`).toBe(true)

    // Counted once: raw facts hold every valid event that was not too late, exactly once.
    const valid = planted.records.filter((r) => r.kind === 'normal' || r.kind === 'late-ok').length + planted.tooLate.size - lateIds.size
    const rs = await ch.client.query({ query: 'SELECT (SELECT count() FROM behaviour_events) + (SELECT count() FROM order_events) + (SELECT count() FROM inventory_events) AS n, (SELECT uniqExact(event_id) FROM order_events) AS u, (SELECT count() FROM order_events) AS o', format: 'JSONEachRow' })
    const [facts] = await rs.json<{ n: string; u: string; o: string }>()
    expect(Number(facts?.n)).toBe(valid)
    expect(facts?.u).toBe(facts?.o)
    // Some paid orders carry a sku on two lines: the products oracle tells line counts from orders.
    const twice = await ch.client.query({ query: "SELECT count() AS n FROM order_events WHERE status = 'paid' AND length(arrayDistinct(line_sku)) < length(line_sku)", format: 'JSONEachRow' })
    expect(Number((await twice.json<{ n: string }>())[0]?.n)).toBeGreaterThan(0)

    // Data quality, exactly once: every record read, accepted, duplicate, too late and dead-lettered event counted once.
    const quality = await ch.client.query({ query: 'SELECT kind, sum(events) AS n FROM quality_minute GROUP BY kind', format: 'JSONEachRow' })
    const q = Object.fromEntries((await quality.json<{ kind: string; n: string }>()).map((r) => [r.kind, Number(r.n)]))
    expect(q).toMatchObject({ records: planted.records.length, dead_letter: planted.malformed, duplicate: planted.duplicates, late: lateIds.size, accepted: valid })
    expect(q.late_accepted).toBeGreaterThan(0)
    // Every record that decoded is counted once under its writer schema.
    expect(q.schema).toBe(planted.records.length - planted.malformed)
    const results = await runOracle(ch)
    for (const [name, r] of Object.entries(results)) {
      if (!r.rare || EVENTS >= 200_000) expect(r.oracleRows, `${name}: the oracle side is empty`).toBeGreaterThan(0)
      expect(r.diff, `${name}: rows differing from the oracle ${JSON.stringify({ cube: r.onlyInCube, oracle: r.onlyInOracle })}`).toBe(0)
    }
    const m = await metrics.registry.getMetricsAsJSON()
    const total = (name: string) => (m.find((x) => x.name === name)?.values ?? []).reduce((n, v) => n + v.value, 0)
    expect(total('streamcube_duplicates_total')).toBe(planted.duplicates)
    expect(total('streamcube_dead_lettered_total')).toBe(planted.malformed)
    expect(total('streamcube_late_total')).toBe(lateIds.size)
    expect(total('streamcube_late_accepted_total')).toBeGreaterThan(0)
    // Every flush observed each of its four phases once, and every table with rows its inserts.
    const count = (name: string, label: string, value: string) => m.find((x) => x.name === name)?.values.find((v) => (v as { metricName?: string }).metricName === `${name}_count` && v.labels[label] === value)?.value ?? 0
    const flushes = m.find((x) => x.name === 'streamcube_flush_seconds')?.values.find((v) => (v as { metricName?: string }).metricName === 'streamcube_flush_seconds_count')?.value ?? 0
    expect(flushes).toBeGreaterThan(0)
    for (const phase of ['pending_commit', 'forward', 'inserts', 'commit']) expect(count('streamcube_flush_phase_seconds', 'phase', phase), phase).toBe(flushes)
    // The worker inserts each stream's block once; the views fill the raw facts and the cubes.
    for (const table of ['order_stream', 'behaviour_stream', 'inventory_stream', 'quality_minute']) {
      const n = count('streamcube_insert_seconds', 'table', table)
      expect(n, table).toBeGreaterThan(0)
      expect(n, table).toBeLessThanOrEqual(flushes)
    }
  })
})

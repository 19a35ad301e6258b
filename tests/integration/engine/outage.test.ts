import { describe, expect, it } from 'vitest'
import { createWorker, EngineMetrics } from '../../../engine/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { brokers } from '../../services/kafka.js'
import { caughtUp, committedTotal, engineConfig, engineSuite, produceRecords, RECENT_START, silent, transports, waitFor } from './harness.js'
import { runOracle } from './oracle.js'
import { plantedStream, topicOf } from './planted.js'

const START = RECENT_START
const EVENTS = Number(process.env.OUTAGE_EVENTS ?? 120_000)
const OUTAGE_MS = Number(process.env.OUTAGE_SECONDS ?? 30) * 1000

// On the embedded engine "ClickHouse unavailable" is a sink whose inserts fail (the engine lives
// in this process); with CLICKHOUSE_URL the same hook stands in for a stopped server.
// Each transport waits for the sink in its own fetch loop (FlushExecutor.sinkReady).
describe.each(transports())('outage on %s: ClickHouse refuses inserts for a while; the worker pauses, retries, resumes', (client) => {
  const suite = engineSuite(`outage_${client}`)
  const { kafka, prefix } = suite

  it(`${EVENTS} events with a ${OUTAGE_MS / 1000} s outage mid-run: nothing lost, nothing doubled, memory bounded`, { timeout: 300_000 }, async () => {
    const { admin, ch } = suite
    // The memory bound under test: the worker-wide budget (20,000 records; over it every partition
    // flushes, and while the sink fails the flush waits, so nothing more is taken) plus what one
    // batch can add before the budget is checked (a partition stops taking at its 5,000-record
    // threshold). Under the default budget (200,000) only the thresholds bound it: 9 partitions ×
    // 5,000 = 45,000, and one CI run held 25,212 against this check's 25,000.
    const config = engineConfig(prefix, { FLUSH_MAX_RECORDS: '5000', BUFFER_MAX_RECORDS: '20000', KAFKA_CLIENT: client })
    const planted = plantedStream({ events: EVENTS, seed: 55, start: START, allowedLatenessMs: config.engine.allowedLatenessMs })
    await produceRecords(kafka, prefix, planted.records, 3)
    const groupId = `outage-${prefix}`
    const topics = (['behaviour', 'order', 'inventory'] as const).map((t) => topicOf(prefix, t))
    let down = false
    let refused = 0
    const metrics = new EngineMetrics()
    const worker = createWorker({
      config, brokers: brokers(), pipelines: PIPELINES, groupId, ch, log: silent, metrics,
      beforeInsert: () => {
        if (down) {
          refused++
          throw new Error('ClickHouse is unavailable (injected outage)')
        }
      },
    })
    const running = worker.run().catch(() => {})
    const committed = () => committedTotal(admin, groupId, topics)
    await waitFor('some progress before the outage', async () => (await committed()) > EVENTS / 5, 60_000, 50)
    down = true
    const outageStart = Date.now()
    await waitFor('the sink to start refusing', async () => refused > 0, 30_000, 20)
    const atStart = await committed()
    let maxBuffered = 0
    while (Date.now() - outageStart < OUTAGE_MS) {
      maxBuffered = Math.max(maxBuffered, worker.stats().bufferedRecords)
      await new Promise((r) => setTimeout(r, 250))
    }
    // Paused: nothing committed past the range that could not be written (at most the pending commit of it).
    expect(await committed()).toBeLessThanOrEqual(atStart)
    expect((await metrics.registry.getSingleMetricAsString('streamcube_paused')).trim().endsWith(' 1')).toBe(true)
    // Bounded: consumption stopped at the budget instead of buffering the backlog.
    expect(maxBuffered).toBeLessThanOrEqual(5000 + 20_000)
    down = false

    await waitFor('the worker to resume and commit everything', () => caughtUp(admin, groupId, topics), 180_000)
    await worker.stop()
    await running
    expect(refused).toBeGreaterThan(3)
    const retries = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'streamcube_retries_total')
    expect(retries?.values.reduce((n, v) => n + v.value, 0)).toBeGreaterThanOrEqual(refused)

    const results = await runOracle(ch)
    for (const [name, r] of Object.entries(results)) {
      if (!r.rare) expect(r.oracleRows, `${name}: the oracle side is empty`).toBeGreaterThan(0)
      expect(r.diff, `${name}: rows differing from the oracle ${JSON.stringify({ cube: r.onlyInCube, oracle: r.onlyInOracle })}`).toBe(0)
    }
    const rs = await ch.client.query({ query: 'SELECT uniqExact(event_id) = count() AS unique FROM order_events', format: 'JSONEachRow' })
    expect((await rs.json<{ unique: number }>())[0]?.unique).toBe(1)
  })
})

import { describe, expect, it } from 'vitest'
import { createWorker, EngineMetrics } from '../../../engine/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { brokers } from '../../services/kafka.js'
import { capturingLogger, caughtUp, committedTotal, duplicateKeys, engineConfig, engineSuite, produceRecords, RECENT_START, transports, waitFor } from './harness.js'
import { runOracle } from './oracle.js'
import { plantedStream } from './planted.js'

// SIGTERM: what every partition buffered is flushed, committed, and the group left. With group
// commits on, the stop's flushes are groups too (one insert per table for many partitions).
describe.each(transports())('graceful stop (%s)', (client) => {
  const suite = engineSuite(`stop_${client}`)
  const { kafka, prefix, topics } = suite

  it('flushes what every partition buffered as group flushes, commits every partition, and the cubes equal the oracle', { timeout: 120_000 }, async () => {
    const { admin, ch } = suite
    // Nothing flushes on its own: no timer within the test, no size threshold, no memory budget.
    const config = engineConfig(prefix, { KAFKA_CLIENT: client, FLUSH_INTERVAL_MS: '3600000', FLUSH_MAX_RECORDS: '1000000', BUFFER_MAX_RECORDS: '1000000' })
    const planted = plantedStream({ events: 20_000, seed: 83, start: RECENT_START, allowedLatenessMs: config.engine.allowedLatenessMs })
    await produceRecords(kafka, prefix, planted.records, 6)
    const groupId = `stop-${prefix}`
    const metrics = new EngineMetrics()
    const { log, lines } = capturingLogger()
    const worker = createWorker({ config, brokers: brokers(), pipelines: PIPELINES, groupId, ch, log, metrics })
    const running = worker.run()
    running.catch(() => {})
    await Promise.race([waitFor('the worker to hold every record', async () => worker.stats().bufferedRecords === planted.records.length, 60_000, 50), running])
    expect(await committedTotal(admin, groupId, topics), 'nothing was committed before the stop').toBe(0)

    await worker.stop()
    await running
    expect(await caughtUp(admin, groupId, topics), 'every partition committed to its end').toBe(true)
    const { values } = await metrics.groupMembers.get()
    const groups = values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0
    const members = values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0
    expect(groups, 'the stop flushed in groups').toBeGreaterThanOrEqual(1)
    expect(members, 'every partition that held records was a member').toBe(18)
    for (const [name, r] of Object.entries(await runOracle(ch))) expect(r.diff, `${name} differs from the oracle`).toBe(0)
    // Every line the worker logged, at every level, names each field once (issue 21).
    expect(lines.some((l) => l.includes('"group flushed"'))).toBe(true)
    expect(lines.filter((l) => duplicateKeys(l).length > 0).map((l) => `${duplicateKeys(l).join(',')}: ${l.slice(0, 300)}`)).toEqual([])
  })
})

import { describe, expect, it } from 'vitest'
import { createWorker, encodeCheckpoint, pipelineSetId } from '../../../engine/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { brokers } from '../../services/kafka.js'
import { caughtUp, commitCheckpoint, engineConfig, engineSuite, produceRecords, RECENT_START, silent, waitFor } from './harness.js'
import { runOracle } from './oracle.js'
import { plainOrders, topicOf } from './planted.js'

// A regression: once a replayed pending range had been re-flushed, the partition's later records
// were never flushed by the timer (it still waited for the pending range), so a partition whose
// last batch held both stalled for good.
describe('a pending range replayed at the start of a batch that goes on past it', () => {
  const suite = engineSuite('pend')
  const { kafka, prefix } = suite

  it('re-flushes the pending range exactly, then flushes and commits the rest on the timer', { timeout: 120_000 }, async () => {
    const { admin, ch } = suite
    // A long interval: the batch ends right after the pending flush, so only the timer can flush the rest.
    const config = engineConfig(prefix, { FLUSH_INTERVAL_MS: '2000', FLUSH_MAX_RECORDS: '100000' })
    const orders = plainOrders(9, RECENT_START, 6_000)
    await produceRecords(kafka, prefix, orders, 1)
    const topic = topicOf(prefix, 'order')
    const groupId = `pend-${prefix}`
    const pendingLast = Math.floor(orders.length / 3)
    await commitCheckpoint(kafka, groupId, topic, [{ partition: 0, offset: '0', metadata: encodeCheckpoint({ watermark: null, horizonStart: null }, pipelineSetId(PIPELINES), String(pendingLast)) }])

    const worker = createWorker({ config, brokers: brokers(), pipelines: PIPELINES, groupId, ch, log: silent })
    const running = worker.run()
    try {
      await waitFor('the group to commit the whole partition', () => caughtUp(admin, groupId, [topic]), 30_000, 100)
    } finally {
      await worker.stop()
      await running
    }
    const rs = await ch.client.query({ query: 'SELECT count() AS n FROM order_events', format: 'JSONEachRow' })
    expect(Number((await rs.json<{ n: string }>())[0]?.n)).toBe(orders.length)
    for (const [name, r] of Object.entries(await runOracle(ch))) expect(r.diff, `${name} differs from the oracle`).toBe(0)
  })
})

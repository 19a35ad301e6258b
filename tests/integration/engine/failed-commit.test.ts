import { describe, expect, it } from 'vitest'
import { createWorker, type MemberCommit } from '../../../engine/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { brokers } from '../../services/kafka.js'
import { caughtUp, engineConfig, engineSuite, produceRecords, RECENT_START, silent, transports, waitFor } from './harness.js'
import { runOracle } from './oracle.js'
import { plainOrders, topicOf } from './planted.js'

// A regression: when the offset log failed the commit of a partition's last range (after its
// inserts), the flush dropped the partition's state for replay, but nothing read the partition
// again: kafkajs had already fetched past its end, no batch came to re-open it, and the range
// stayed uncommitted for as long as the worker lived (seen once as a benchmark run that never ended).
for (const transport of transports()) {
  describe(`a failed commit of a partition's last range (${transport})`, () => {
    const suite = engineSuite(`fcommit_${transport}`)
    const { kafka, prefix } = suite

    it('reads the partition again, replays the range exactly once and commits it', { timeout: 120_000 }, async () => {
      const { admin, ch } = suite
      const config = engineConfig(prefix, { KAFKA_CLIENT: transport, FLUSH_INTERVAL_MS: '200', FLUSH_MAX_RECORDS: '100000' })
      const orders = plainOrders(21, RECENT_START, 15_000)
      await produceRecords(kafka, prefix, orders, 2)
      const topic = topicOf(prefix, 'order')
      const groupId = `fcommit-${transport}-${prefix}`
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]))
      // The first commit that moves a partition to its end (a range's done commit, after its inserts) fails.
      const failed: MemberCommit[] = []
      const beforeCommit = (commits: readonly MemberCommit[]) => {
        if (failed.length > 0) return
        const last = commits.find((c) => c.topic === topic && c.offset === ends.get(c.partition))
        if (!last) return
        failed.push(last)
        throw new Error('the offset log failed the commit (injected)')
      }
      const worker = createWorker({ config, brokers: brokers(), pipelines: PIPELINES, groupId, ch, log: silent, beforeCommit })
      const running = worker.run()
      running.catch(() => {}) // awaited below: a worker that fails fails the test with its own error
      try {
        await waitFor('the group to commit every partition to its end', () => caughtUp(admin, groupId, [topic]), 60_000, 100)
      } finally {
        await worker.stop()
        await running
      }
      expect(failed).toHaveLength(1)
      const rs = await ch.client.query({ query: 'SELECT toString(count()) AS n, toString(uniqExact(event_id)) AS ids FROM order_events', format: 'JSONEachRow' })
      expect((await rs.json<{ n: string; ids: string }>())[0]).toEqual({ n: String(orders.length), ids: String(orders.length) })
      for (const [name, r] of Object.entries(await runOracle(ch))) expect(r.diff, `${name} differs from the oracle`).toBe(0)
    })
  })
}

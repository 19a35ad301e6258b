import { describe, expect, it } from 'vitest'
import { createWorker, EngineMetrics } from '../../../engine/index.js'
import { EventGenerator } from '../../../generator/index.js'
import { selectPipelines } from '../../../pipelines/index.js'
import { jsonEncoder } from '../../../schemas/index.js'
import { completeUpTo } from '../../../sinks/index.js'
import { brokers } from '../../services/kafka.js'
import { engineConfig, engineSuite, produceRecords, silent, waitFor } from './harness.js'

// Windows close without new data: a partition that stops receiving records stops holding the
// group's published watermark back once IDLE_TIMEOUT_MS has passed.
describe('published watermarks and idle partitions', () => {
  const suite = engineSuite('wm')
  const { kafka, prefix } = suite

  it('holds at the event-time watermark while a partition is active, then advances with the wall clock when all are idle', { timeout: 120_000 }, async () => {
    const { ch } = suite
    const IDLE_MS = 4_000
    const config = engineConfig(prefix, { IDLE_TIMEOUT_MS: String(IDLE_MS), WATERMARK_PUBLISH_MS: '200' })
    // Old behaviour events, all on one partition (one key), trickling in while phase 1 lasts. They
    // start at the last Hangzhou noon at least two hours ago: the generator's city is busy then, so
    // the few hundred events sent span minutes of event time whatever the hour the test runs (an
    // hour-old start at night, when the city sleeps, spanned more than the hour to the clock).
    const DAY = 86_400_000
    let noon = Math.floor((Date.now() + 8 * 3_600_000) / DAY) * DAY - 8 * 3_600_000 + 12 * 3_600_000
    if (Date.now() - noon < 2 * 3_600_000) noon -= DAY
    const events = new EventGenerator({ seed: 5, start: noon }).take(20_000).filter((r) => r.type === 'behaviour')
    await produceRecords(kafka, prefix, [], 2) // creates the topics with two partitions each
    const producer = kafka.producer()
    await producer.connect()
    let sent = 0
    let newest = Number.NEGATIVE_INFINITY
    const send = async (n: number) => {
      const batch = events.slice(sent, sent + n)
      sent += batch.length
      for (const r of batch) newest = Math.max(newest, r.event.event.eventTime)
      await producer.send({ topic: `${prefix}behaviour`, messages: batch.map((r) => ({ key: 'one-key', value: jsonEncoder.encode(r.event) })) })
    }
    await send(200)
    const groupId = `wm-${prefix}`
    const metrics = new EngineMetrics()
    const worker = createWorker({ config, brokers: brokers(), pipelines: selectPipelines(['activity']), groupId, ch, log: silent, metrics })
    const running = worker.run()
    let trickling = true
    const trickle = (async () => {
      while (trickling) {
        await send(5)
        await new Promise((r) => setTimeout(r, 250))
      }
    })()
    try {
      // Phase 1: the loaded partition is active, the others have gone idle: the group is complete
      // exactly up to the active partition's event-time watermark (the idle ones do not hold it back).
      await waitFor('the idle partitions to step aside for the active one', async () => {
        const w = worker.watermarks()
        const active = w.filter((x) => !x.idle)
        return w.length === 4 && active.length === 1 && (await completeUpTo(ch, groupId)) === active[0]!.eventWatermark
      }, 60_000, 100)
      expect(await completeUpTo(ch, groupId)).toBeLessThan(Date.now() - 3_600_000) // an old event time, not the clock
      // Each row names the pipelines the group writes: readers take the current writer's watermark.
      const named = await ch.client.query({ query: 'SELECT DISTINCT pipelines FROM streamcube_watermarks WHERE group_id = {g:String}', query_params: { g: groupId }, format: 'JSONEachRow' })
      expect(await named.json()).toEqual([{ pipelines: ['activity'] }])
      trickling = false
      await trickle
      await producer.disconnect()
      // Once it has been silent for IDLE_TIMEOUT_MS, every partition is idle and the group's windows close with the clock.
      await waitFor('every partition idle', async () => worker.watermarks().every((w) => w.idle), 30_000, 100)
      await waitFor('the published watermark to follow the clock', async () => ((await completeUpTo(ch, groupId)) ?? 0) > Date.now() - IDLE_MS - 5_000, 30_000, 100)
      const wm = await completeUpTo(ch, groupId)
      expect(wm).toBeGreaterThan(newest)
      expect(wm).toBeLessThanOrEqual(Date.now() - IDLE_MS)
      const gauge = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'streamcube_watermark_seconds')
      expect(gauge?.values.length).toBe(4) // 2 topics (behaviour, orders) × 2 partitions
    } finally {
      await worker.stop()
      await running
    }
  })
})

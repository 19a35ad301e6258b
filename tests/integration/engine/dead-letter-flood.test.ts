import { describe, expect, it } from 'vitest'
import { CompressionTypes } from 'kafkajs'
import { createWorker, EngineMetrics, sideTopics } from '../../../engine/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { brokers } from '../../services/kafka.js'
import { consumeAll } from '../kafka/consume.js'
import { caughtUp, engineConfig, engineSuite, silent, waitFor } from './harness.js'
import { topicOf } from './planted.js'

// A flush carries every dead letter of its range. A range of tens of thousands of bad records is
// several megabytes: sent as one request it exceeds the broker's message size limit and is
// refused on every retry — the partition stalls on its bad records. The forwarder must split it.
const BAD = Number(process.env.FLOOD_RECORDS ?? 30_000)

describe('a flood of malformed records', () => {
  const suite = engineSuite('flood')
  const { kafka, prefix } = suite

  it(`${BAD} malformed records in one partition (≈ ${Math.round((BAD * 400) / 1e6)} MB) all reach the dead-letter topic, and the partition commits`, { timeout: 180_000 }, async () => {
    const { admin, ch } = suite
    const topic = topicOf(prefix, 'order')
    await admin.createTopics({ waitForLeaders: true, topics: (['behaviour', 'order', 'inventory'] as const).map((t) => ({ topic: topicOf(prefix, t), numPartitions: 1 })) })
    const producer = kafka.producer()
    await producer.connect()
    const filler = 'x'.repeat(380)
    for (let i = 0; i < BAD; i += 2000) {
      const messages = Array.from({ length: Math.min(2000, BAD - i) }, (_, k) => ({ key: `bad-${i + k}`, value: Buffer.from(`{"not an order": ${i + k}, "pad": "${filler}"`) }))
      await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages })
    }
    await producer.disconnect()

    // One flush takes the whole range (FLUSH_MAX_RECORDS above the flood).
    const config = engineConfig(prefix, { FLUSH_MAX_RECORDS: String(BAD * 2), FLUSH_INTERVAL_MS: '1000' })
    const metrics = new EngineMetrics()
    const groupId = `flood-${prefix}`
    const worker = createWorker({ config, brokers: brokers(), pipelines: PIPELINES, groupId, ch, log: silent, metrics })
    const running = worker.run()
    running.catch(() => {})
    await Promise.race([waitFor('the worker to commit the flooded partition', () => caughtUp(admin, groupId, [topic]), 120_000), running])
    await worker.stop()

    const dead = await consumeAll(kafka, [sideTopics(prefix).deadLetter], BAD)
    expect(dead).toHaveLength(BAD)
    expect(new Set(dead.map((d) => d.headers?.['streamcube-source-offset']?.toString())).size).toBe(BAD)
    expect(dead.every((d) => d.headers?.['streamcube-error-code']?.toString().startsWith('DECODE_'))).toBe(true)
    const m = await metrics.registry.getMetricsAsJSON()
    expect((m.find((x) => x.name === 'streamcube_dead_lettered_total')?.values ?? []).reduce((n, v) => n + v.value, 0)).toBe(BAD)
  })
})

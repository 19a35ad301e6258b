import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Admin } from 'kafkajs'
import { createRdkafkaFetcher, type FetchedRecord, type RecordFetcher } from '../../../engine/index.js'
import { transports } from '../engine/harness.js'
import { brokers, deleteTopics, randomPrefix, testKafka } from '../../services/kafka.js'

// The rdkafka transport's data path on its own, against the real broker: positions, seeks and the
// high watermark the worker's lag comes from. (Where node-rdkafka did not build, transports()
// leaves it out — and fails under CI.)
describe.runIf(transports().includes('rdkafka'))('rdkafka fetcher', () => {
  const kafka = testKafka()
  const prefix = randomPrefix('rdfetch')
  const topic = `${prefix}t`
  let admin: Admin
  let fetcher: RecordFetcher

  beforeAll(async () => {
    admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] })
    const producer = kafka.producer()
    await producer.connect()
    for (const partition of [0, 1]) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ partition, key: `k${i}`, value: `p${partition}-${i}`, headers: { h: `v${i}` } })) })
    }
    await producer.disconnect()
    fetcher = createRdkafkaFetcher({ brokers: brokers(), clientId: 'rdfetch-test', groupId: `${prefix}fetcher` })
    await fetcher.connect()
  })
  afterAll(async () => {
    await fetcher?.disconnect()
    await deleteTopics(admin, prefix)
    await admin.disconnect()
  })

  async function fetchUntil(n: number): Promise<FetchedRecord[]> {
    const out: FetchedRecord[] = []
    const deadline = Date.now() + 30_000
    while (out.length < n && Date.now() < deadline) out.push(...(await fetcher.fetch(1000)))
    return out
  }

  it('reads each partition from its given position, with key, value, headers and offset', async () => {
    fetcher.assign([
      { topic, partition: 0, offset: 10n },
      { topic, partition: 1, offset: null },
    ])
    const got = await fetchUntil(90)
    expect(got).toHaveLength(90)
    const p0 = got.filter((r) => r.partition === 0)
    const p1 = got.filter((r) => r.partition === 1)
    expect(p0.map((r) => Number(r.offset))).toEqual(Array.from({ length: 40 }, (_, i) => i + 10))
    expect(p1.map((r) => Number(r.offset))).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(p0[0]?.value?.toString()).toBe('p0-10')
    expect(p0[0]?.key?.toString()).toBe('k10')
    expect(p0[0]?.headers.h?.toString()).toBe('v10')
    expect(Number(p0[0]?.timestamp)).toBeGreaterThan(0)
    // The lag's source: the high watermark seen by the fetcher.
    expect(fetcher.highWatermark(topic, 0)).toBe(50n)
    expect(fetcher.highWatermark(topic, 1)).toBe(50n)
  })

  it('after a seek, delivers from the new position only', async () => {
    await fetcher.seek({ topic, partition: 1, offset: 45n })
    const got = await fetchUntil(5)
    expect(got.map((r) => `${r.partition}:${r.offset}`)).toEqual(['1:45', '1:46', '1:47', '1:48', '1:49'])
  })

  it('after unassign, delivers nothing', async () => {
    fetcher.unassign()
    expect(await fetcher.fetch(100)).toEqual([])
  })
})

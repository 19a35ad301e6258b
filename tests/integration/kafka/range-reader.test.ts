import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Admin } from 'kafkajs'
import { readRanges, type OffsetRange } from '../../../engine/index.js'
import { deleteTopics, randomPrefix, testKafka } from '../../services/kafka.js'

// What rebuilding a pending group flush reads: offset ranges of partitions, in offset order,
// exactly, by a reader outside the worker's consumer group (which may not own them).
describe('readRanges', () => {
  const kafka = testKafka()
  const prefix = randomPrefix('ranges')
  const topics = [`${prefix}a`, `${prefix}b`]
  let admin: Admin

  beforeAll(async () => {
    admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: 3 })) })
    const producer = kafka.producer()
    await producer.connect()
    for (const topic of topics) {
      for (const partition of [0, 1, 2]) {
        await producer.send({ topic, acks: -1, messages: Array.from({ length: 300 }, (_, i) => ({ partition, key: `k${i}`, value: `${topic}/${partition}/${i}`, headers: { h: `v${i}` } })) })
      }
    }
    await producer.disconnect()
  })
  afterAll(async () => {
    await deleteTopics(admin, prefix)
    await admin.disconnect()
  })

  it('hands over exactly the records of each range, in offset order, over many fetches, and leaves no group behind', { timeout: 60_000 }, async () => {
    const ranges: OffsetRange[] = [
      { topic: topics[0]!, partition: 0, from: 0n, to: 0n },
      { topic: topics[0]!, partition: 2, from: 120n, to: 299n },
      { topic: topics[1]!, partition: 1, from: 7n, to: 250n },
    ]
    const got = new Map<string, string[]>()
    let beats = 0
    const groupId = `${prefix}reader`
    await readRanges(kafka, ranges, (range, record) => {
      const key = `${range.topic}:${range.partition}`
      got.set(key, [...(got.get(key) ?? []), `${record.offset}=${record.value?.toString()}|${record.headers.h?.toString()}`])
    }, { groupId, heartbeat: async () => void beats++, maxBytesPerPartition: 2048 })
    for (const r of ranges) {
      const expected = []
      for (let i = Number(r.from); i <= Number(r.to); i++) expected.push(`${i}=${r.topic}/${r.partition}/${i}|v${i}`)
      expect(got.get(`${r.topic}:${r.partition}`)).toEqual(expected)
    }
    expect(got.size).toBe(ranges.length)
    const { groups } = await admin.listGroups()
    expect(groups.map((g) => g.groupId)).not.toContain(groupId)
  })

  it('gives up with a typed error when a range cannot be read', { timeout: 60_000 }, async () => {
    const err = await readRanges(kafka, [{ topic: topics[0]!, partition: 1, from: 290n, to: 400n }], () => {}, { groupId: `${prefix}short`, timeoutMs: 3_000 }).catch((e: Error & { code?: string }) => e)
    expect((err as { code?: string }).code).toBe('ENGINE_RANGE_UNREADABLE')
  })
})

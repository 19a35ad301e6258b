import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Kafka, logLevel } from 'kafkajs'
import { kafkaVersion, startLocalBroker, type LocalBroker } from '../../../scripts/kafka/broker.js'
import { waitFor } from '../engine/harness.js'

// The launcher itself: format once, start, keep data across a clean stop and across SIGKILL.
describe('the local Kafka broker launcher (jars from Maven Central)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamcube-broker-test-'))
  let broker: LocalBroker | undefined
  afterAll(async () => {
    await broker?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  async function roundTrip(b: LocalBroker, topic: string, send: string[]): Promise<string[]> {
    const kafka = new Kafka({ clientId: 'launcher-test', brokers: [b.brokers], logLevel: logLevel.NOTHING })
    const producer = kafka.producer()
    await producer.connect()
    if (send.length) await producer.send({ topic, acks: -1, messages: send.map((value) => ({ value })) })
    await producer.disconnect()
    const admin = kafka.admin()
    await admin.connect()
    // A broker that has just restarted (after SIGKILL: with log recovery) may not lead its
    // partitions yet: NOT_LEADER until it does. Wait for it, as a client would.
    let offsets: Awaited<ReturnType<typeof admin.fetchTopicOffsets>> = []
    await waitFor('the broker to lead its partitions again', async () => {
      offsets = await admin.fetchTopicOffsets(topic)
      return true
    }, 60_000)
    await admin.disconnect()
    const total = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0)
    const consumer = kafka.consumer({ groupId: `g-${Math.random()}` })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const seen: string[] = []
    await new Promise<void>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => {
        seen.push(message.value?.toString() ?? '')
        if (seen.length >= total) resolve()
      } })
    })
    await consumer.disconnect()
    return seen.sort()
  }

  it('starts a KRaft broker, and restarts on the same address with its data after a stop and after SIGKILL', async () => {
    broker = await startLocalBroker({ dataDir: dir, partitions: 1 })
    expect(broker.version).toBe(kafkaVersion())
    expect(await roundTrip(broker, 'launcher', ['a', 'b'])).toEqual(['a', 'b'])
    const address = broker.brokers
    await broker.stop()

    broker = await startLocalBroker({ dataDir: dir })
    expect(broker.brokers).toBe(address)
    expect(await roundTrip(broker, 'launcher', ['c'])).toEqual(['a', 'b', 'c'])
    await broker.kill()

    broker = await startLocalBroker({ dataDir: dir })
    expect(await roundTrip(broker, 'launcher', [])).toEqual(['a', 'b', 'c'])
  })
})

import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Kafka, logLevel, type Admin, type ISocketFactory } from 'kafkajs'
import { createForwarderProducer, createKafkaForwarder } from '../../../sinks/index.js'
import { DecodeError, DecodeErrorCode } from '../../../schemas/index.js'
import { brokers, deleteTopics, randomPrefix, testKafka } from '../../services/kafka.js'
import { consumeAll } from './consume.js'

const PRODUCE = 0 // Kafka's api key of a Produce request

/**
 * Sockets that, once armed, lose the broker's answer to the next produce request: the request
 * goes out and is appended, and its response never reaches the client — what a congested
 * network or a stalled client does to a request that outlives the client's request timeout. The
 * client then sends the request again.
 */
function responseLosingSockets(): { factory: ISocketFactory; arm(): void; readonly lost: number } {
  let armed = false
  let lost = 0
  return {
    factory: ({ host, port, onConnect }) => {
      const socket: Socket = connect({ host, port }, onConnect)
      let awaiting = false
      const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean
      socket.write = ((chunk: unknown, ...rest: unknown[]) => {
        // A request is [int32 size][int16 api key]…; kafkajs writes each request as one buffer.
        if (armed && Buffer.isBuffer(chunk) && chunk.length >= 6 && chunk.readInt16BE(4) === PRODUCE) {
          armed = false
          awaiting = true
        }
        return write(chunk, ...rest)
      }) as Socket['write']
      const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean
      socket.emit = ((event: string | symbol, ...args: unknown[]) => {
        // The one request in flight (one per connection) is the produce: this chunk is its answer.
        if (event === 'data' && awaiting) {
          awaiting = false
          lost++
          return true
        }
        return emit(event, ...args)
      }) as Socket['emit']
      return socket
    },
    arm: () => {
      armed = true
    },
    get lost() {
      return lost
    },
  }
}

// Dead letters and late events must reach their topics once per send: a send the client retries
// after losing the broker's answer must not append the records a second time.
describe('the forwarder', () => {
  const prefix = randomPrefix('forwarder')
  const topics = { deadLetter: `${prefix}dead`, late: `${prefix}late` }
  const kafka = testKafka()
  let admin: Admin

  beforeAll(async () => {
    admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.deadLetter, numPartitions: 1 }, { topic: topics.late, numPartitions: 1 }] })
  })
  afterAll(async () => {
    await deleteTopics(admin, prefix)
    await admin.disconnect()
  })

  it('appends a send once when the broker appended it and its answer was lost (the client retried)', { timeout: 60_000 }, async () => {
    const sockets = responseLosingSockets()
    const faulty = new Kafka({ clientId: `${prefix}producer`, brokers: brokers(), logLevel: process.env.TEST_KAFKA_LOG ? logLevel.DEBUG : logLevel.NOTHING, socketFactory: sockets.factory, requestTimeout: 1500 })
    const producer = createForwarderProducer(faulty)
    await producer.connect()
    try {
      const forwarder = createKafkaForwarder(producer, topics)
      const records = Array.from({ length: 50 }, (_, i) => ({
        record: { sourceTopic: `${prefix}source`, sourcePartition: 0, sourceOffset: String(i), key: null, value: Buffer.from(`bad ${i}`), headers: {} },
        error: new DecodeError(DecodeErrorCode.JSON_SYNTAX, 'not JSON'),
      }))
      sockets.arm()
      await forwarder.deadLetter(records, 'set')
      expect(sockets.lost, 'the fault was injected').toBe(1)
      // Appended once: the topic's end is the number of records sent, and each source offset is there once.
      const [end] = await admin.fetchTopicOffsets(topics.deadLetter)
      expect(Number(end?.high)).toBe(records.length)
      const got = await consumeAll(kafka, [topics.deadLetter], records.length)
      expect(got.map((r) => r.headers?.['streamcube-source-offset']?.toString()).sort()).toEqual(records.map((r) => r.record.sourceOffset).sort())
    } finally {
      await producer.disconnect()
    }
  })
})

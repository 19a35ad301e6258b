import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import avro from 'avsc'
import type { Admin } from 'kafkajs'
import { EventGenerator, produceGenerated } from '../../../generator/index.js'
import { avroSchemaJson, createConfluentCodec, createConfluentRegistry, DecodeErrorCode } from '../../../schemas/index.js'
import { brokers, deleteTopics, randomPrefix, testKafka } from '../../services/kafka.js'
import { startTestRegistry, type TestRegistry } from '../../services/schema-registry.js'
import { consumeAll } from './consume.js'

const START = Date.UTC(2026, 10, 15, 16)
const bounds = { now: () => START + 30 * 86_400_000, maxFutureMs: 86_400_000, minEventTime: Date.UTC(2015, 0, 1) }

describe('Confluent Avro with a schema registry', () => {
  let registry: TestRegistry
  let admin: Admin
  const kafka = testKafka()
  const prefix = randomPrefix('registry')
  beforeAll(async () => {
    registry = await startTestRegistry(100)
    admin = kafka.admin()
    await admin.connect()
  })
  afterAll(async () => {
    await deleteTopics(admin, prefix)
    await admin.disconnect()
    await registry.close()
  })

  it('produce registers the schemas under <topic>-value; a consumer resolves the ids from the registry and decodes every record', async () => {
    const n = 5000
    await produceGenerated(new EventGenerator({ seed: 2, start: START })[Symbol.iterator](), {
      brokers: brokers(),
      topicPrefix: prefix,
      encoding: 'confluent-avro',
      registryUrl: registry.url,
      events: n,
      partitions: 2,
      log: pino({ level: 'silent' }),
    })
    expect([...registry.schemas.keys()].sort()).toEqual([100, 101, 102])
    const records = await consumeAll(kafka, [`${prefix}behaviour`, `${prefix}orders`, `${prefix}inventory`], n)
    for (const r of records) expect(r.value?.readInt32BE(1)).toBeGreaterThanOrEqual(100)

    // Without the registry, ids 100+ are unknown: a typed error, not a guess.
    const local = createConfluentCodec({ bounds })
    expect(local.decode(records[0]!.value)).toMatchObject({ ok: false, error: { code: DecodeErrorCode.UNKNOWN_SCHEMA_ID } })

    const codec = createConfluentCodec({ bounds, registry: createConfluentRegistry(registry.url) })
    await codec.prepare!(records.map((r) => r.value))
    for (const r of records) expect(codec.decode(r.value).ok).toBe(true)
  })

  it('a newer writer schema (an added field) resolves into the reader schema', async () => {
    const writerJson = avroSchemaJson('inventory') as { fields: unknown[] }
    const evolved = { ...writerJson, fields: [...writerJson.fields, { name: 'supplierId', type: ['null', 'string'], default: null }] }
    const client = createConfluentRegistry(registry.url)
    const evolvedType = avro.Type.forSchema(evolved as avro.Schema)
    // Register the evolved schema the way another producer would.
    const res = await fetch(`${registry.url}/subjects/inv-value/versions`, { method: 'POST', body: JSON.stringify({ schema: JSON.stringify(evolved) }) })
    const { id } = (await res.json()) as { id: number }
    const event = new EventGenerator({ seed: 2, start: START }).take(5000).find((r) => r.type === 'inventory')!.event.event
    const body = evolvedType.toBuffer({ ...event, supplierId: 'sup-9' })
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body])
    framed.writeInt32BE(id, 1)
    const codec = createConfluentCodec({ bounds, registry: client })
    await codec.prepare!([framed])
    const decoded = codec.decode(framed)
    expect(decoded.ok && decoded.value[0]?.event).toEqual(event)
  })

  it('an unreachable registry is a retryable error, and decoding recovers once it answers', async () => {
    const event = new EventGenerator({ seed: 2, start: START }).take(5000).find((r) => r.type === 'behaviour')!.event.event
    const schema = JSON.stringify(avroSchemaJson('behaviour'))
    const id = [...registry.schemas.entries()].find(([, s]) => s === schema)![0]
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), avro.Type.forSchema(JSON.parse(schema) as avro.Schema).toBuffer(event)])
    framed.writeInt32BE(id, 1)
    const codec = createConfluentCodec({ bounds, registry: createConfluentRegistry(registry.url) })
    await registry.pause()
    try {
      await codec.prepare!([framed])
      const r = codec.decode(framed)
      expect(r).toMatchObject({ ok: false, error: { code: DecodeErrorCode.REGISTRY_UNAVAILABLE, retryable: true } })
    } finally {
      await registry.reopen()
    }
    await codec.prepare!([framed])
    expect(codec.decode(framed).ok).toBe(true)
  })
})

import { describe, expect, it } from 'vitest'
import { EngineError, EngineErrorCode, loadRdkafka } from '../../../engine/index.js'

describe('loadRdkafka', () => {
  it('where node-rdkafka did not build, says so and how to fix it, with a typed error', () => {
    const missing = () => {
      throw new Error("Cannot find module 'node-rdkafka'\nRequire stack: …")
    }
    let caught: unknown
    try {
      loadRdkafka(missing)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(EngineError)
    const err = caught as EngineError
    expect(err.code).toBe(EngineErrorCode.TRANSPORT_UNAVAILABLE)
    expect(err.message).toContain("Cannot find module 'node-rdkafka'")
    expect(err.message).not.toContain('Require stack')
    expect(err.message).toContain('npm install node-rdkafka')
    expect(err.message).toContain('KAFKA_CLIENT=kafkajs')
  })

  it('returns the module where it loads', () => {
    const fake = { KafkaConsumer: class {}, librdkafkaVersion: '2.12.0' }
    expect(loadRdkafka(() => fake)).toBe(fake)
  })
})

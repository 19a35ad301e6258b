import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, requireBrokers, SETTINGS, ConfigSchema } from '../../../schemas/index.js'

describe('configuration', () => {
  it('has working defaults with an empty environment', () => {
    const c = loadConfig({})
    expect(c.kafka.brokers).toEqual([])
    expect(c.kafka.topicPrefix).toBe('streamcube.')
    expect(c.clickhouse.url).toBeNull()
    expect(c.clickhouse.database).toBe('streamcube')
    expect(c.api.port).toBe(8080)
    expect(c.encoding).toBe('json')
  })

  it('reads environment variables and lets flags win', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'a:9092, b:9093', API_PORT: '9000', LOG_LEVEL: 'debug' }, { 'api.port': '9100' })
    expect(c.kafka.brokers).toEqual(['a:9092', 'b:9093'])
    expect(c.api.port).toBe(9100)
    expect(c.logLevel).toBe('debug')
  })

  it('is frozen, deeply', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'a:1' })
    expect(Object.isFrozen(c)).toBe(true)
    expect(Object.isFrozen(c.kafka)).toBe(true)
    expect(() => (c.kafka.brokers as string[]).push('x:1')).toThrow()
  })

  it('names every bad variable and says how to fix it, all at once', () => {
    let error: unknown
    try {
      loadConfig({ KAFKA_BROKERS: 'localhost', API_PORT: '99999', CLICKHOUSE_URL: 'not a url', STREAMCUBE_ENCODING: 'xml' })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as ConfigError).message
    expect(message).toMatch(/KAFKA_BROKERS \(or --brokers\) is invalid .*set it to host:port\[,host:port\]/)
    expect(message).toMatch(/API_PORT \(or --port\) is invalid/)
    expect(message).toMatch(/CLICKHOUSE_URL \(or --clickhouse-url\) is invalid/)
    expect(message).toMatch(/STREAMCUBE_ENCODING .* one of json, confluent-avro/)
    expect((error as ConfigError).problems).toHaveLength(4)
  })

  it('reads the restock settings, and names the key of RESTOCK_MIN_STOCK that is wrong', () => {
    expect(loadConfig({}).restock).toEqual({ historyDays: 56, horizonDays: 3, safetyFactor: 1.2, minStock: {}, backtestFolds: 14, runHour: 5 })
    expect(loadConfig({ RESTOCK_MIN_STOCK: '{"*":2,"sku-0001":20}', RESTOCK_SAFETY_FACTOR: '1.5' }).restock).toMatchObject({ minStock: { '*': 2, 'sku-0001': 20 }, safetyFactor: 1.5 })
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env)
      } catch (err) {
        return (err as ConfigError).problems
      }
      return []
    }
    expect(problems({ RESTOCK_MIN_STOCK: '{"sku-0001":-1}' })).toEqual([expect.stringMatching(/^RESTOCK_MIN_STOCK is invalid at sku-0001 \(.*\): set it to a JSON object of sku → units/)])
    expect(problems({ RESTOCK_MIN_STOCK: 'ten' })).toEqual([expect.stringMatching(/^RESTOCK_MIN_STOCK is invalid \(.*\): set it to a JSON object/)])
    expect(problems({ RESTOCK_HISTORY_DAYS: '3', RESTOCK_SAFETY_FACTOR: '0.5' })).toEqual([
      expect.stringMatching(/^RESTOCK_HISTORY_DAYS is invalid \(at least 7 days\)/),
      expect.stringMatching(/^RESTOCK_SAFETY_FACTOR is invalid \(at least 1\)/),
    ])
  })

  it('refuses a dedup horizon longer than the allowed lateness, naming the variable', () => {
    expect(() => loadConfig({ ALLOWED_LATENESS_MS: '1000', DEDUP_HORIZON_MS: '5000' })).toThrow(/DEDUP_HORIZON_MS is invalid \(must not exceed the allowed lateness\)/)
    expect(loadConfig({ ALLOWED_LATENESS_MS: '1000', DEDUP_HORIZON_MS: '500' }).engine.dedupHorizonMs).toBe(500)
  })

  it('commands that need Kafka stop with the fix when no broker is set', () => {
    expect(() => requireBrokers(loadConfig({}))).toThrow(/KAFKA_BROKERS is empty: set it to host:port\[,host:port\]/)
  })

  it('every schema field has a SETTINGS entry (and so an environment variable)', () => {
    const paths: string[] = []
    const walk = (shape: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(shape)) {
        const inner = (v as { shape?: Record<string, unknown> }).shape
        if (inner) walk(inner, `${prefix}${k}.`)
        else paths.push(`${prefix}${k}`)
      }
    }
    walk(ConfigSchema.shape, '')
    expect(SETTINGS.map((s) => s.path).sort()).toEqual(paths.sort())
  })
})

import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, parseSourceSpec } from '../../../schemas/index.js'
import { sourcesFor } from '../../../engine/index.js'
import { PIPELINES, selectPipelines } from '../../../pipelines/index.js'

describe('source specs', () => {
  it('parse <stream>=<format>:<topic>, the topic keeping its dots and colons-free name', () => {
    expect(parseSourceSpec('order=debezium:shop.shop.orders')).toEqual({ stream: 'order', format: 'debezium', topic: 'shop.shop.orders' })
    expect(parseSourceSpec(' inventory=canal:shop_inventory ')).toEqual({ stream: 'inventory', format: 'canal', topic: 'shop_inventory' })
    expect(parseSourceSpec('behaviour=confluent-avro:app.behaviour-v2')).toEqual({ stream: 'behaviour', format: 'confluent-avro', topic: 'app.behaviour-v2' })
  })

  it.each([
    ['orders=debezium:x', /stream "orders" is not one of behaviour, order, inventory/],
    ['order=maxwell:x', /format "maxwell" is not one of json, confluent-avro, debezium, canal/],
    ['order=debezium:', /not a Kafka topic name/],
    ['order=json:a/b', /not a Kafka topic name/],
    ['order:shop.orders', /is not <stream>=<format>:<topic>/],
    ['behaviour=debezium:shop.clicks', /behaviour has no CDC source/],
  ])('refuse %s with what to fix', (spec, message) => {
    const parsed = parseSourceSpec(spec)
    expect('error' in parsed && parsed.error).toMatch(message)
  })

  it('come from STREAMCUBE_SOURCES (comma-separated) or --source (repeated, winning), and a bad one stops start-up naming both and the form', () => {
    expect(loadConfig({ STREAMCUBE_SOURCES: 'order=debezium:a.b.orders, inventory=debezium:a.b.inventory' }).sources.map((s) => s.topic)).toEqual(['a.b.orders', 'a.b.inventory'])
    expect(loadConfig({ STREAMCUBE_SOURCES: 'order=debezium:a' }, { sources: ['order=canal:b'] }).sources).toEqual([{ stream: 'order', format: 'canal', topic: 'b' }])
    const problem = (sources: string[]): string => {
      try {
        loadConfig({}, { sources })
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError)
        return (e as ConfigError).message
      }
      throw new Error('no ConfigError')
    }
    expect(problem(['order=debezium:a', 'gmv=json:x'])).toMatch(/STREAMCUBE_SOURCES \(or --source\) is invalid .*stream "gmv" is not one of.*: give each source as <stream>=<format>:<topic>/)
    expect(problem(['order=debezium:a', 'inventory=json:a'])).toMatch(/the topic a is given twice .* a topic feeds one stream in one format/)
    expect(loadConfig({}, { sources: ['order=json:a', 'order=json:a'] }).sources).toHaveLength(1)
  })

  it('replace a stream\'s default topic, keep the others, and read only streams the set reads', () => {
    const config = loadConfig({ KAFKA_TOPIC_PREFIX: 'p.', STREAMCUBE_SOURCES: 'order=debezium:shop.shop.orders,order=json:p.orders,inventory=canal:shop_inventory' })
    const all = sourcesFor(config, PIPELINES)
    expect([...all.sources].map(([topic, s]) => [topic, s.type, s.codec.format])).toEqual([
      ['p.behaviour', 'behaviour', 'json'],
      ['shop.shop.orders', 'order', 'debezium'],
      ['p.orders', 'order', 'json'],
      ['shop_inventory', 'inventory', 'canal'],
    ])
    expect(all.unused).toEqual([])
    const gmv = sourcesFor(config, selectPipelines(['gmv']))
    expect([...gmv.sources.keys()]).toEqual(['shop.shop.orders', 'p.orders'])
    expect(gmv.unused.map((s) => s.topic)).toEqual(['shop_inventory'])
  })
})

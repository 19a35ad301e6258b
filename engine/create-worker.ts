import { Kafka, type ISocketFactory } from 'kafkajs'
import type { Logger } from 'pino'
import { createConfluentCodec, createConfluentRegistry, createJsonCodec, EVENT_TYPES, type Codec, type Config, type EventType } from '../schemas/index.js'
import type { ClickHouse, RetryPolicy } from '../sinks/index.js'
import { kafkajsLevel, kafkajsLogCreator } from '../sinks/kafka/kafkajs-logger.js'
import type { FlushPolicy } from './flush-policy.js'
import { KafkaWorker } from './worker.js'
import { EngineMetrics } from './metrics.js'
import { DEFAULT_EVENT_TIME_POLICY, type EventTimePolicy } from './partition-state.js'
import { createRdkafkaFetcher } from './rdkafka-fetcher.js'
import type { PipelineDefinition } from '../pipelines/pipeline.js'

/** The codec of each stream for the configured encoding. */
export function codecsFor(config: Pick<Config, 'encoding' | 'schemaRegistryUrl'>): Record<EventType, Codec> {
  if (config.encoding === 'confluent-avro') {
    const codec = createConfluentCodec({ registry: config.schemaRegistryUrl ? createConfluentRegistry(config.schemaRegistryUrl) : undefined })
    return { behaviour: codec, order: codec, inventory: codec }
  }
  return Object.fromEntries(EVENT_TYPES.map((t) => [t, createJsonCodec(t)])) as Record<EventType, Codec>
}

export function policyFor(config: Pick<Config, 'engine'>): EventTimePolicy {
  const e = config.engine
  return {
    ...DEFAULT_EVENT_TIME_POLICY,
    outOfOrdernessMs: e.outOfOrdernessMs,
    allowedLatenessMs: e.allowedLatenessMs,
    dedupHorizonMs: e.dedupHorizonMs ?? e.allowedLatenessMs,
  }
}

export function flushPolicyFor(config: Pick<Config, 'engine'>): FlushPolicy {
  const e = config.engine
  return { intervalMs: e.flushIntervalMs, catchUpIntervalMs: e.catchUpFlushIntervalMs, catchUpLag: e.catchUpLag, maxRecords: e.flushMaxRecords, bufferMaxRecords: e.bufferMaxRecords, bufferMaxBytes: e.bufferMaxBytes, groupMax: e.flushGroupMax }
}

/** The default consumer group of a pipeline set: `streamcube` for all, `streamcube.<names>` for a subset. */
export function defaultGroupId(selected: readonly PipelineDefinition[], all: readonly PipelineDefinition[]): string {
  if (selected.length === all.length) return 'streamcube'
  return `streamcube.${selected.map((p) => p.name).sort().join('.')}`
}

/**
 * Builds a worker from validated configuration. KAFKA_CLIENT=rdkafka reads the partitions with
 * node-rdkafka (group membership and offset commits stay with kafkajs: see WorkerOptions.fetcher).
 */
export function createWorker(args: {
  config: Config
  brokers: readonly string[]
  pipelines: readonly PipelineDefinition[]
  groupId: string
  ch: ClickHouse
  extraConnections?: readonly ClickHouse[]
  log: Logger
  metrics?: EngineMetrics
  retry?: RetryPolicy
  beforeInsert?: (table: string, token: string) => void | Promise<void>
  clientId?: string
  /** kafkajs socket factory (tests use it to cut connections abruptly). */
  socketFactory?: ISocketFactory
  /** false: each flush completes before the partition takes more records (the benchmark's baseline). */
  overlapFlushes?: boolean
}): KafkaWorker {
  const { config, log } = args
  const kafka = new Kafka({
    clientId: args.clientId ?? config.kafka.clientId,
    brokers: [...args.brokers],
    logLevel: kafkajsLevel(log.level),
    logCreator: kafkajsLogCreator(log),
    ...(args.socketFactory ? { socketFactory: args.socketFactory } : {}),
  })
  return new KafkaWorker({
    kafka,
    groupId: args.groupId,
    topicPrefix: config.kafka.topicPrefix,
    pipelines: args.pipelines,
    codecs: codecsFor(config),
    policy: policyFor(config),
    flush: flushPolicyFor(config),
    sessionTimeoutMs: config.engine.sessionTimeoutMs,
    fetchMaxBytes: config.engine.fetchMaxBytes,
    stopTimeoutMs: config.engine.stopTimeoutMs,
    idleTimeoutMs: config.engine.idleTimeoutMs,
    watermarkPublishMs: config.engine.watermarkPublishMs,
    ch: args.ch,
    extraConnections: args.extraConnections,
    log: log.child({ module: 'worker', group: args.groupId }),
    metrics: args.metrics ?? new EngineMetrics(),
    retry: args.retry,
    beforeInsert: args.beforeInsert,
    overlapFlushes: args.overlapFlushes,
    fetcher:
      config.engine.client === 'rdkafka'
        ? createRdkafkaFetcher({ brokers: args.brokers, clientId: `${args.clientId ?? config.kafka.clientId}-fetcher`, groupId: `${args.groupId}.fetcher` })
        : undefined,
  })
}

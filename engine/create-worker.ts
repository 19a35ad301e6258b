import { Kafka, type ISocketFactory } from 'kafkajs'
import type { Logger } from 'pino'
import {
  createCanalCodec,
  createConfluentCodec,
  createConfluentRegistry,
  createDebeziumCodec,
  createJsonCodec,
  EVENT_TYPES,
  EventTypes,
  topicName,
  type CdcStream,
  type Codec,
  type Config,
  type EventType,
  type SourceSpec,
} from '../schemas/index.js'
import { payloadPool, type ClickHouse, type RetryPolicy } from '../sinks/index.js'
import { kafkajsLevel, kafkajsLogCreator } from '../sinks/kafka/kafkajs-logger.js'
import { installRecordBatchDecoder, KAFKAJS_VERSION } from '../sinks/kafka/record-batches.js'
import type { FlushPolicy } from './flush-policy.js'
import type { MemberCommit } from './flush.js'
import { KafkaWorker } from './worker.js'
import { EngineMetrics } from './metrics.js'
import { DEFAULT_EVENT_TIME_POLICY, type EventTimePolicy } from './partition-state.js'
import { createRdkafkaFetcher } from './rdkafka-fetcher.js'
import type { TopicSource } from './recovery.js'
import type { PipelineDefinition } from '../pipelines/pipeline.js'

/** The codec of each stream for the configured encoding (the default topics' format). */
export function codecsFor(config: Pick<Config, 'encoding' | 'schemaRegistryUrl'>): Record<EventType, Codec> {
  if (config.encoding === 'confluent-avro') {
    const codec = createConfluentCodec({ registry: config.schemaRegistryUrl ? createConfluentRegistry(config.schemaRegistryUrl) : undefined })
    return { behaviour: codec, order: codec, inventory: codec }
  }
  return Object.fromEntries(EVENT_TYPES.map((t) => [t, createJsonCodec(t)])) as Record<EventType, Codec>
}

/** The codec of one source spec; `confluent` gives the one Confluent codec (and registry client) all such sources share. */
function codecOf(spec: SourceSpec, confluent: () => Codec): Codec {
  switch (spec.format) {
    case 'json':
      return createJsonCodec(spec.stream)
    case 'confluent-avro':
      return confluent()
    case 'debezium':
      return createDebeziumCodec({ stream: spec.stream as CdcStream })
    case 'canal':
      return createCanalCodec({ stream: spec.stream as CdcStream })
  }
}

/**
 * The topics a pipeline set reads, each with its stream and codec: a stream's sources
 * (`--source`, STREAMCUBE_SOURCES) when it has any, else its default topic under the prefix in the
 * configured encoding. `unused` lists the sources of streams that no pipeline of the set reads.
 */
export function sourcesFor(config: Pick<Config, 'encoding' | 'schemaRegistryUrl' | 'sources' | 'kafka'>, pipelines: readonly PipelineDefinition[]): { sources: Map<string, TopicSource>; unused: SourceSpec[] } {
  const defaults = codecsFor(config)
  let shared: Codec | undefined
  const confluent = () => (shared ??= config.encoding === 'confluent-avro' ? defaults.order : codecsFor({ ...config, encoding: 'confluent-avro' }).order)
  const streams = new Set(pipelines.flatMap((p) => p.sources))
  const sources = new Map<string, TopicSource>()
  for (const type of EVENT_TYPES) {
    if (!streams.has(type)) continue
    const specs = config.sources.filter((s) => s.stream === type)
    if (specs.length === 0) sources.set(topicName(config, EventTypes[type].topic), { type, codec: defaults[type] })
    for (const spec of specs) sources.set(spec.topic, { type, codec: codecOf(spec, confluent) })
  }
  return { sources, unused: config.sources.filter((s) => !streams.has(s.stream)) }
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
  beforeCommit?: (commits: readonly MemberCommit[]) => void | Promise<void>
  clientId?: string
  /** kafkajs socket factory (tests use it to cut connections abruptly). */
  socketFactory?: ISocketFactory
  /** false: each flush completes before the partition takes more records (the benchmark's baseline). */
  overlapFlushes?: boolean
}): KafkaWorker {
  const { config, log } = args
  const { sources, unused } = sourcesFor(config, args.pipelines)
  for (const s of unused) log.warn({ source: `${s.stream}=${s.format}:${s.topic}`, pipelines: args.pipelines.map((p) => p.name) }, `no pipeline of this set reads ${s.stream}: the source is not read`)
  payloadPool.resize(config.engine.payloadPoolBytes)
  const decoder = installRecordBatchDecoder()
  if (decoder === 'other-version') log.warn({ checked: KAFKAJS_VERSION }, "kafkajs is not the version the record decoder was checked against: kafkajs's own decodes (correct, slower)")
  else if (decoder === 'late') log.info("a kafkajs fetch ran in this process before the worker: kafkajs's own record decoder stays (correct, slower)")
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
    sources,
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
    beforeCommit: args.beforeCommit,
    overlapFlushes: args.overlapFlushes,
    fetcher:
      config.engine.client === 'rdkafka'
        ? createRdkafkaFetcher({ brokers: args.brokers, clientId: `${args.clientId ?? config.kafka.clientId}-fetcher`, groupId: `${args.groupId}.fetcher` })
        : undefined,
  })
}

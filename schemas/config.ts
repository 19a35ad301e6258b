import { z } from 'zod'
import { StreamcubeError } from './streamcube-error.js'
import { SOURCE_SPEC_HELP, SourcesSchema } from './sources.js'

/*
 * Configuration: read once at start-up from environment variables and CLI flags (flags win),
 * validated here, then frozen. Every setting has its default next to its schema and an entry in
 * SETTINGS that names its environment variable and says how to fix a bad value.
 */

const HOST_PORT = /^[A-Za-z0-9._-]+:\d{1,5}$/

const brokers = z
  .array(z.string().regex(HOST_PORT, 'expected host:port'))
  .default([])

/** True for an IANA time zone name the runtime knows (Asia/Shanghai, UTC, …). */
export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

const LogLevel = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const Encoding = ['json', 'confluent-avro'] as const

export const ConfigSchema = z.object({
  kafka: z.object({
    brokers,
    clientId: z.string().min(1).default('streamcube'),
    topicPrefix: z.string().regex(/^[A-Za-z0-9._-]*$/, 'only letters, digits, ".", "_" and "-"').default('streamcube.'),
  }),
  encoding: z.enum(Encoding).default('json'),
  sources: SourcesSchema,
  schemaRegistryUrl: z.url().nullable().default(null),
  clickhouse: z.object({
    url: z.url().nullable().default(null),
    username: z.string().default('default'),
    password: z.string().default(''),
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and "_", not starting with a digit').default('streamcube'),
    dataDir: z.string().min(1).default('.streamcube/chdb'),
    cluster: z.string().min(1).nullable().default(null),
  }),
  api: z.object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    keysFile: z.string().min(1).nullable().default(null),
    keys: z.string().min(1).nullable().default(null),
    anonymousRole: z.enum(['none', 'analyst']).default('none'),
    queryTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(2_500),
    sessions: z.coerce.number().int().min(1).max(16).default(4),
    cacheMaxEntries: z.coerce.number().int().min(0).default(1_000),
    rateLimitPerMinute: z.coerce.number().int().min(1).default(600),
    corsOrigins: z.array(z.string().min(1)).default([]),
    timezone: z.string().refine(validTimeZone, 'not an IANA time zone').default('Asia/Shanghai'),
    lateDeliveryMinutes: z.coerce.number().int().min(1).default(240),
    dashboardPollMs: z.coerce.number().int().min(500).default(5_000),
    geoFrameFile: z.string().min(1).nullable().default(null),
    maxEventLoopDelayMs: z.coerce.number().int().min(10).default(2_000),
  }),
  engine: z
    .object({
      groupId: z.string().min(1).nullable().default(null),
      client: z.enum(['kafkajs', 'rdkafka']).default('kafkajs'),
      flushIntervalMs: z.coerce.number().int().min(10).default(1000),
      flushMaxRecords: z.coerce.number().int().min(1).default(50_000),
      catchUpFlushIntervalMs: z.coerce.number().int().min(10).default(10_000),
      catchUpLag: z.coerce.number().int().min(1).default(10_000),
      bufferMaxRecords: z.coerce.number().int().min(1).default(200_000),
      bufferMaxBytes: z.coerce.number().int().min(65_536).default(24 * 1024 * 1024),
      flushGroupMax: z.coerce.number().int().min(1).max(64).default(32),
      outOfOrdernessMs: z.coerce.number().int().min(0).default(5_000),
      allowedLatenessMs: z.coerce.number().int().min(0).default(300_000),
      dedupHorizonMs: z.coerce.number().int().min(0).nullable().default(null),
      sessionTimeoutMs: z.coerce.number().int().min(6000).default(6_000),
      fetchMaxBytes: z.coerce.number().int().min(65_536).default(1024 * 1024),
      payloadPoolBytes: z.coerce.number().int().min(0).default(16 * 1024 * 1024),
      stopTimeoutMs: z.coerce.number().int().min(1000).default(20_000),
      sinkConnections: z.coerce.number().int().min(1).max(16).default(2),
      idleTimeoutMs: z.coerce.number().int().min(100).default(30_000),
      watermarkPublishMs: z.coerce.number().int().min(100).default(2_000),
    })
    .refine((e) => e.dedupHorizonMs === null || e.dedupHorizonMs <= e.allowedLatenessMs, { path: ['dedupHorizonMs'], message: 'must not exceed the allowed lateness' }),
  alerts: z.object({
    intervalMs: z.coerce.number().int().min(1000).default(15_000),
    rulesFile: z.string().min(1).nullable().default(null),
    instance: z.string().min(1).nullable().default(null),
    webhookTimeoutMs: z.coerce.number().int().min(100).default(5_000),
    webhookRetryMs: z.coerce.number().int().min(0).default(600_000),
    outboxLeaseMs: z.coerce.number().int().min(100).default(60_000),
    externalUrl: z.url().nullable().default(null),
  }),
  restock: z.object({
    historyDays: z.coerce.number().int().min(7, 'at least 7 days').max(365).default(56),
    horizonDays: z.coerce.number().int().min(1).max(14).default(3),
    safetyFactor: z.coerce.number().min(1, 'at least 1').max(10).default(1.2),
    minStock: z.record(z.string().regex(/^(\*|[A-Za-z0-9._:-]{1,64})$/, 'a sku id or *'), z.number().int().min(0)).default({}),
    backtestFolds: z.coerce.number().int().min(1).max(28).default(14),
    runHour: z.coerce.number().int().min(0).max(23).default(5),
  }),
  metricsPort: z.coerce.number().int().min(0).max(65535).nullable().default(null),
  logLevel: z.enum(LogLevel).default('info'),
})
export type Config = z.output<typeof ConfigSchema>
export type ConfigInput = z.input<typeof ConfigSchema>

interface Setting {
  readonly path: string
  readonly env: string
  readonly flag?: string
  readonly fix: string
  readonly parse?: (raw: string) => unknown
}

const csv = (raw: string) => raw.split(',').map((s) => s.trim()).filter(Boolean)
/** A JSON value, or the raw text (which then fails validation with the setting's fix). */
const jsonValue = (raw: string): unknown => {
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

/** Every setting, its environment variable, its flag and how to fix it. The README table mirrors this. */
export const SETTINGS: readonly Setting[] = [
  { path: 'kafka.brokers', env: 'KAFKA_BROKERS', flag: '--brokers', fix: 'set it to host:port[,host:port]', parse: csv },
  { path: 'kafka.clientId', env: 'KAFKA_CLIENT_ID', fix: 'set it to a non-empty name' },
  { path: 'kafka.topicPrefix', env: 'KAFKA_TOPIC_PREFIX', flag: '--topic-prefix', fix: 'use letters, digits, ".", "_" and "-" (default "streamcube.")' },
  { path: 'encoding', env: 'STREAMCUBE_ENCODING', flag: '--encoding', fix: `set it to one of ${Encoding.join(', ')}` },
  { path: 'sources', env: 'STREAMCUBE_SOURCES', flag: '--source', fix: `give each source as ${SOURCE_SPEC_HELP}; several comma-separated in STREAMCUBE_SOURCES, or --source repeated`, parse: csv },
  { path: 'schemaRegistryUrl', env: 'SCHEMA_REGISTRY_URL', flag: '--registry-url', fix: 'set it to the registry URL, e.g. http://localhost:8081, or unset it to use local schema ids' },
  { path: 'clickhouse.url', env: 'CLICKHOUSE_URL', flag: '--clickhouse-url', fix: 'set it to http(s)://host:port, or unset it to use the embedded engine' },
  { path: 'clickhouse.username', env: 'CLICKHOUSE_USER', fix: 'set the ClickHouse user name' },
  { path: 'clickhouse.password', env: 'CLICKHOUSE_PASSWORD', fix: 'set the ClickHouse password' },
  { path: 'clickhouse.database', env: 'CLICKHOUSE_DATABASE', flag: '--database', fix: 'use letters, digits and "_" (default streamcube)' },
  { path: 'clickhouse.dataDir', env: 'STREAMCUBE_DATA_DIR', flag: '--data-dir', fix: 'set it to a directory for the embedded engine (default .streamcube/chdb)' },
  { path: 'clickhouse.cluster', env: 'CLICKHOUSE_CLUSTER', flag: '--cluster', fix: 'set it to the cluster name of remote_servers, or unset it for a single node' },
  { path: 'api.host', env: 'API_HOST', flag: '--host', fix: 'set it to an interface address, e.g. 0.0.0.0' },
  { path: 'api.port', env: 'API_PORT', flag: '--port', fix: 'set it to a port number 0-65535' },
  { path: 'api.keysFile', env: 'API_KEYS_FILE', flag: '--keys-file', fix: 'set it to a JSON file of API keys (see README: API keys), or unset it' },
  { path: 'api.keys', env: 'API_KEYS', fix: 'set it to a JSON array of API keys (see README: API keys), or unset it' },
  { path: 'api.anonymousRole', env: 'API_ANONYMOUS_ROLE', fix: 'set it to none (every request needs a key) or analyst (requests without a key read as an analyst: all data, PII masked)' },
  { path: 'api.queryTimeoutMs', env: 'API_QUERY_TIMEOUT_MS', fix: 'set it to milliseconds 100-60000 (default 2500)' },
  { path: 'api.sessions', env: 'API_SESSIONS', fix: 'set it to 1-16 (default 4): embedded-engine sessions the API runs report queries on in parallel' },
  { path: 'api.cacheMaxEntries', env: 'API_CACHE_MAX_ENTRIES', fix: 'set it to a count ≥ 0 (default 1000; 0 turns the cache off)' },
  { path: 'api.rateLimitPerMinute', env: 'API_RATE_LIMIT', fix: 'set it to requests per minute per key ≥ 1 (default 600)' },
  { path: 'api.corsOrigins', env: 'API_CORS_ORIGINS', fix: 'set it to origins, comma-separated (https://dash.example.com), or * for any', parse: csv },
  { path: 'api.timezone', env: 'API_TIMEZONE', fix: 'set it to an IANA time zone such as Asia/Shanghai (default): the local time of time-of-day reports' },
  { path: 'api.lateDeliveryMinutes', env: 'LATE_DELIVERY_MINUTES', fix: 'set it to minutes ≥ 1 (default 240): paid → delivered longer than this is a late delivery' },
  { path: 'api.maxEventLoopDelayMs', env: 'API_MAX_EVENT_LOOP_DELAY_MS', fix: 'set it to milliseconds ≥ 10 (default 2000): over this mean event-loop delay the API answers 503 with Retry-After instead of queueing more work' },
  { path: 'api.geoFrameFile', env: 'API_GEO_FRAME_FILE', fix: 'set it to a GeoJSON FeatureCollection of district polygons (properties.name) and community points (properties.community_id), or unset it (the map then places communities from their orders)' },
  { path: 'api.dashboardPollMs', env: 'DASHBOARD_POLL_MS', fix: 'set it to milliseconds ≥ 500 (default 5000): how often the dashboard page polls' },
  { path: 'engine.groupId', env: 'KAFKA_GROUP_ID', flag: '--group', fix: 'set the consumer group id (default: streamcube, or streamcube.<names> for a subset of pipelines)' },
  { path: 'engine.client', env: 'KAFKA_CLIENT', fix: 'set it to kafkajs or rdkafka' },
  { path: 'engine.flushIntervalMs', env: 'FLUSH_INTERVAL_MS', fix: 'set it to milliseconds ≥ 10 (default 1000)' },
  { path: 'engine.flushMaxRecords', env: 'FLUSH_MAX_RECORDS', fix: 'set it to a record count ≥ 1 (default 50000)' },
  { path: 'engine.catchUpFlushIntervalMs', env: 'CATCH_UP_FLUSH_INTERVAL_MS', fix: 'set it to milliseconds ≥ 10 (default 10000): how often a partition that is behind flushes' },
  { path: 'engine.catchUpLag', env: 'CATCH_UP_LAG', fix: 'set it to a record count ≥ 1 (default 10000): the lag from which a partition counts as behind' },
  { path: 'engine.flushGroupMax', env: 'FLUSH_GROUP_MAX', fix: 'set it to a partition count from 1 to 64 (default 32): how many partitions\' timed flushes share one insert per table (a group commit); 1 flushes every partition on its own' },
  { path: 'engine.bufferMaxBytes', env: 'BUFFER_MAX_BYTES', fix: 'set it to bytes ≥ 65536 (default 25165824, 24 MiB): unflushed record bytes a worker holds in all, over which every partition holding records flushes' },
  { path: 'engine.bufferMaxRecords', env: 'BUFFER_MAX_RECORDS', fix: 'set it to a record count ≥ 1 (default 200000): unflushed records a worker holds in all, over which every partition holding records flushes' },
  { path: 'engine.outOfOrdernessMs', env: 'OUT_OF_ORDERNESS_MS', fix: 'set it to milliseconds ≥ 0 (default 5000)' },
  { path: 'engine.allowedLatenessMs', env: 'ALLOWED_LATENESS_MS', fix: 'set it to milliseconds ≥ 0 (default 300000)' },
  { path: 'engine.dedupHorizonMs', env: 'DEDUP_HORIZON_MS', fix: 'set it to milliseconds ≤ ALLOWED_LATENESS_MS (default: the allowed lateness)' },
  { path: 'engine.fetchMaxBytes', env: 'FETCH_MAX_BYTES', fix: 'set it to bytes ≥ 65536 (default 1048576, 1 MiB): the most a kafkajs fetch returns (all partitions)' },
  { path: 'engine.payloadPoolBytes', env: 'PAYLOAD_POOL_BYTES', fix: 'set it to bytes ≥ 0 (default 16777216, 16 MiB): insert payload memory a worker keeps for reuse after its inserts; 0 keeps none' },
  { path: 'engine.stopTimeoutMs', env: 'STOP_TIMEOUT_MS', fix: 'set it to milliseconds ≥ 1000 (default 20000): how long a graceful stop may flush and commit before the worker exits non-zero and leaves the rest to replay' },
  { path: 'engine.sessionTimeoutMs', env: 'KAFKA_SESSION_TIMEOUT_MS', fix: 'set it to milliseconds ≥ 6000 (the broker minimum, and the default: a restarted worker gets its partitions ≈ this long after its predecessor died)' },
  { path: 'engine.idleTimeoutMs', env: 'IDLE_TIMEOUT_MS', fix: 'set it to milliseconds ≥ 100 (default 30000): a partition without records this long no longer holds windows open' },
  { path: 'engine.watermarkPublishMs', env: 'WATERMARK_PUBLISH_MS', fix: 'set it to milliseconds ≥ 100 (default 2000): how often workers publish their partitions\' watermarks to streamcube_watermarks' },
  { path: 'engine.sinkConnections', env: 'SINK_CONNECTIONS', fix: 'set it to 1-16 (default 2): ClickHouse connections a flush spreads its table inserts over' },
  { path: 'alerts.intervalMs', env: 'ALERT_EVAL_INTERVAL_MS', fix: 'set it to milliseconds ≥ 1000 (default 15000): how often alert rules are evaluated' },
  { path: 'alerts.rulesFile', env: 'ALERT_RULES_FILE', fix: 'set it to a YAML or JSON file of alert rules (see README: Alerts), or unset it' },
  { path: 'alerts.instance', env: 'ALERT_INSTANCE_ID', fix: 'set it to a name unique among the evaluators (default: host and pid)' },
  { path: 'alerts.webhookTimeoutMs', env: 'ALERT_WEBHOOK_TIMEOUT_MS', fix: 'set it to milliseconds ≥ 100 (default 5000): the timeout of one webhook attempt' },
  { path: 'alerts.webhookRetryMs', env: 'ALERT_WEBHOOK_RETRY_MS', fix: 'set it to milliseconds ≥ 0 (default 600000): how long a notification is retried before it becomes a dead letter' },
  { path: 'alerts.outboxLeaseMs', env: 'ALERT_OUTBOX_LEASE_MS', fix: 'set it to milliseconds ≥ 100 (default 60000): a pending notification whose sender wrote nothing for this long is sent by another evaluator' },
  { path: 'alerts.externalUrl', env: 'ALERT_EXTERNAL_URL', fix: 'set it to the API\'s public URL (links in notifications), or unset it' },
  { path: 'restock.historyDays', env: 'RESTOCK_HISTORY_DAYS', fix: 'set it to days 7-365 (default 56): the daily sales history a restock forecast learns from' },
  { path: 'restock.horizonDays', env: 'RESTOCK_HORIZON_DAYS', fix: 'set it to days 1-14 (default 3): the days a restock order must cover' },
  { path: 'restock.safetyFactor', env: 'RESTOCK_SAFETY_FACTOR', fix: 'set it to a factor 1-10 (default 1.2): the forecast is multiplied by it before stock is subtracted' },
  { path: 'restock.minStock', env: 'RESTOCK_MIN_STOCK', fix: 'set it to a JSON object of sku → units, "*" for every other sku, e.g. {"*":2,"sku-0001":20} (default {})', parse: jsonValue },
  { path: 'restock.backtestFolds', env: 'RESTOCK_BACKTEST_FOLDS', fix: 'set it to 1-28 (default 14): rolling origins of the backtest that picks a model per series' },
  { path: 'restock.runHour', env: 'RESTOCK_RUN_HOUR', fix: 'set it to an hour 0-23 (default 5): when, in API_TIMEZONE, the daily restock run starts' },
  { path: 'metricsPort', env: 'METRICS_PORT', flag: '--metrics-port', fix: 'set it to a port number 0-65535, or unset it to serve /metrics on the API port only' },
  { path: 'logLevel', env: 'LOG_LEVEL', flag: '--log-level', fix: `set it to one of ${LogLevel.join(', ')}` },
]

export const ConfigErrorCode = { INVALID: 'CONFIG_INVALID', MISSING: 'CONFIG_MISSING' } as const
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode]

/** Start-up stops with this; its message lists every problem and how to fix each. */
export class ConfigError extends StreamcubeError<ConfigErrorCode> {
  constructor(code: ConfigErrorCode, readonly problems: readonly string[]) {
    super(code, `invalid configuration:\n  - ${problems.join('\n  - ')}`)
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = target
  for (const k of keys.slice(0, -1)) {
    node[k] ??= {}
    node = node[k] as Record<string, unknown>
  }
  node[keys[keys.length - 1] as string] = value
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

/** Flag values by setting path (`kafka.brokers`), as a CLI parsed them; undefined means not given. */
export type ConfigOverrides = Readonly<Record<string, unknown>>

/**
 * Reads, validates and freezes the configuration. Throws ConfigError naming the variable (or flag)
 * and how to fix it, for every problem at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): Config {
  const raw: Record<string, unknown> = { kafka: {}, clickhouse: {}, api: {}, engine: {}, alerts: {}, restock: {} }
  for (const s of SETTINGS) {
    const fromFlag = overrides[s.path]
    const fromEnv = env[s.env]
    if (fromFlag !== undefined) setPath(raw, s.path, typeof fromFlag === 'string' && s.parse ? s.parse(fromFlag) : fromFlag)
    else if (fromEnv !== undefined && fromEnv !== '') setPath(raw, s.path, s.parse ? s.parse(fromEnv) : fromEnv)
  }
  const parsed = ConfigSchema.safeParse(raw)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.filter((p) => typeof p === 'string').join('.')
      // A problem inside a structured value (a key of RESTOCK_MIN_STOCK) belongs to its setting.
      const s = SETTINGS.find((x) => x.path === path || path.startsWith(`${x.path}.`))
      const name = s ? (s.flag ? `${s.env} (or ${s.flag})` : s.env) : path
      const where = s && s.path !== path ? ` at ${path.slice(s.path.length + 1)}` : ''
      return `${name} is invalid${where} (${issue.message}): ${s?.fix ?? 'check the value'}`
    })
    throw new ConfigError(ConfigErrorCode.INVALID, problems)
  }
  return deepFreeze(parsed.data)
}

/** For commands that need Kafka: fails with the fix when no broker is configured. */
export function requireBrokers(config: Config): readonly string[] {
  if (config.kafka.brokers.length === 0) {
    throw new ConfigError(ConfigErrorCode.MISSING, ['KAFKA_BROKERS is empty: set it to host:port[,host:port] (or pass --brokers), or run `streamcube kafka start` for a local broker'])
  }
  return config.kafka.brokers
}

/** The Kafka topic of an event type's stream under the configured prefix. */
export function topicName(config: Pick<Config, 'kafka'>, suffix: string): string {
  return `${config.kafka.topicPrefix}${suffix}`
}

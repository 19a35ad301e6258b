import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, serviceProcess, stopByPidFile, waitUntilReady, type LocalService } from '../processes.js'

/*
 * Kafka Connect in standalone mode with Debezium's MariaDB connector, from the jars that
 * scripts/connect/pom.xml resolves from Maven Central: the CDC path's real components, started
 * like the broker (scripts/kafka/broker.ts). The launch mirrors Kafka's own
 * bin/connect-standalone.sh: `ConnectStandalone worker.properties connector.properties…`; ready
 * when every connector and task reports RUNNING on the worker's REST API.
 */

const HERE = fileURLToPath(new URL('.', import.meta.url))
/** The folder with pom.xml and log4j2.properties (the sources, also when running from dist/). */
export const CONNECT_DIR = existsSync(join(HERE, 'pom.xml')) ? HERE : resolve(HERE, '../../../scripts/connect')
export const CONNECT_LIBS = join(CONNECT_DIR, 'libs')

/** The versions of the resolved jars (Kafka Connect, Debezium), or undefined when they are not there. */
export function connectVersions(libsDir = CONNECT_LIBS): { connect: string; debezium: string } | undefined {
  if (!existsSync(libsDir)) return undefined
  const jars = readdirSync(libsDir)
  const connect = jars.find((f) => /^connect-runtime-[\d.]+\.jar$/.test(f))?.replace(/^connect-runtime-|\.jar$/g, '')
  const debezium = jars.find((f) => /^debezium-connector-mariadb-.+\.jar$/.test(f))?.replace(/^debezium-connector-mariadb-|\.jar$/g, '')
  return connect && debezium ? { connect, debezium } : undefined
}

/** Resolves the Connect and Debezium jars with Maven into scripts/connect/libs (cached in ~/.m2) unless present. */
export function ensureConnectJars(log: (msg: string) => void = () => {}): string {
  if (connectVersions()) return CONNECT_LIBS
  log(`resolving Kafka Connect and Debezium jars with mvn into ${CONNECT_LIBS}`)
  const mvn = spawnSync('mvn', ['-q', '-B', '-f', join(CONNECT_DIR, 'pom.xml'), 'dependency:copy-dependencies'], { stdio: 'inherit' })
  if (mvn.error) throw new Error(`cannot run mvn (${mvn.error.message}): install Maven and Java 17`)
  if (mvn.status !== 0 || !connectVersions()) throw new Error(`mvn dependency:copy-dependencies failed (exit ${mvn.status}); see its output above`)
  return CONNECT_LIBS
}

/** A connector's configuration as Kafka Connect takes it; `name` is required. */
export type ConnectorConfig = Readonly<Record<string, string>> & { readonly name: string }

export interface DebeziumSource {
  /** The connector's name (also its offsets' key). */
  readonly name: string
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: string
  /** The database that holds the tables. */
  readonly database: string
  readonly tables: readonly string[]
  /** Topics are `<topicPrefix>.<database>.<table>`. */
  readonly topicPrefix: string
  /** Where the connector keeps its schema history (a file: standalone mode needs no topic for it). */
  readonly historyFile: string
  /** Unique among the database's replication clients. */
  readonly serverId?: number
}

/**
 * Debezium's MariaDB connector for streamcube's codecs (README "From a MySQL orders table to
 * cubes"): decimals as strings (exact cents), DATETIME(3) as epoch milliseconds, an initial
 * snapshot, no schema-change events on the data topics.
 */
export function debeziumConnector(s: DebeziumSource): ConnectorConfig {
  return {
    name: s.name,
    'connector.class': 'io.debezium.connector.mariadb.MariaDbConnector',
    'tasks.max': '1',
    'database.hostname': s.host,
    'database.port': String(s.port),
    'database.user': s.user,
    'database.password': s.password,
    'database.server.id': String(s.serverId ?? 5400 + Math.floor(Math.random() * 1000)),
    'topic.prefix': s.topicPrefix,
    'database.include.list': s.database,
    'table.include.list': s.tables.map((t) => `${s.database}.${t}`).join(','),
    'schema.history.internal': 'io.debezium.storage.file.history.FileSchemaHistory',
    'schema.history.internal.file.filename': s.historyFile,
    'decimal.handling.mode': 'string',
    'time.precision.mode': 'adaptive_time_microseconds',
    'include.schema.changes': 'false',
    'snapshot.mode': 'initial',
  }
}

export interface LocalConnectOptions {
  /** Worker and connector properties, offsets, the log. Offsets survive a restart unless `resetOffsets`. */
  readonly dataDir: string
  readonly brokers: string
  readonly connectors: readonly ConnectorConfig[]
  /** The REST port; the previous one or a free one when omitted. */
  readonly restPort?: number
  /** How often source offsets are written (default 1 s). A long interval makes a crash replay more. */
  readonly offsetFlushIntervalMs?: number
  /** Forget the connectors' offsets: Debezium snapshots the tables again. */
  readonly resetOffsets?: boolean
  readonly detached?: boolean
  readonly heap?: string
  readonly startTimeoutMs?: number
}

/** Kafka Connect's version is `version`; a kill loses the offsets not flushed since the last interval (they are replayed). */
export interface LocalConnect extends LocalService {
  /** The REST API, http://127.0.0.1:port. */
  readonly url: string
  readonly debeziumVersion: string
  readonly logFile: string
}

const properties = (o: Readonly<Record<string, string>>) => `${Object.entries(o).map(([k, v]) => `${k}=${v}`).join('\n')}\n`

interface ConnectorStatus {
  connector?: { state?: string; trace?: string }
  tasks?: { state?: string; trace?: string }[]
}

/** A connector's status on the REST API; null while the worker does not answer or does not know it yet. */
export async function connectorStatus(url: string, name: string): Promise<ConnectorStatus | null> {
  try {
    const res = await fetch(`${url}/connectors/${encodeURIComponent(name)}/status`, { signal: AbortSignal.timeout(2_000) })
    return res.ok ? ((await res.json()) as ConnectorStatus) : null
  } catch {
    return null
  }
}

const running = (s: ConnectorStatus | null) => s?.connector?.state === 'RUNNING' && (s.tasks ?? []).length > 0 && s.tasks!.every((t) => t.state === 'RUNNING')
const failed = (s: ConnectorStatus | null) => s?.connector?.state === 'FAILED' || (s?.tasks ?? []).some((t) => t.state === 'FAILED')

/** Starts Kafka Connect standalone with the connectors; resolves when every one runs. */
export async function startLocalConnect(options: LocalConnectOptions): Promise<LocalConnect> {
  const libs = ensureConnectJars()
  const versions = connectVersions() as { connect: string; debezium: string }
  const dataDir = resolve(options.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const stateFile = join(dataDir, 'connect.json')
  const previous = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { restPort: number }) : undefined
  const restPort = options.restPort ?? previous?.restPort ?? (await freePort())
  writeFileSync(stateFile, JSON.stringify({ restPort }))
  const offsets = join(dataDir, 'offsets.dat')
  if (options.resetOffsets) writeFileSync(offsets, '')
  const worker = join(dataDir, 'worker.properties')
  writeFileSync(
    worker,
    properties({
      'bootstrap.servers': options.brokers,
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': 'false',
      'value.converter.schemas.enable': 'false',
      'offset.storage.file.filename': offsets,
      'offset.flush.interval.ms': String(options.offsetFlushIntervalMs ?? 1_000),
      listeners: `http://127.0.0.1:${restPort}`,
    }),
  )
  const connectorFiles = options.connectors.map((c) => {
    const file = join(dataDir, `${c.name}.properties`)
    writeFileSync(file, properties(c))
    return file
  })
  const logFile = join(dataDir, 'connect.log')
  const startOffset = existsSync(logFile) ? readFileSync(logFile).length : 0
  const out = openSync(logFile, 'a')
  const heap = options.heap ?? '384m'
  const child = spawn(
    'java',
    [`-Xmx${heap}`, '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${join(CONNECT_DIR, 'log4j2.properties')}`, '-cp', `${libs}/*`, 'org.apache.kafka.connect.cli.ConnectStandalone', worker, ...connectorFiles],
    { stdio: ['ignore', out, out], detached: options.detached ?? false },
  )
  closeSync(out)
  if (options.detached) child.unref()
  const service = serviceProcess(child, 'java (Kafka Connect)')
  writeFileSync(join(dataDir, 'connect.pid'), String(service.pid))
  const url = `http://127.0.0.1:${restPort}`
  const log = () => readFileSync(logFile, 'utf8').slice(startOffset)
  await waitUntilReady(
    `Kafka Connect ${versions.connect} with Debezium ${versions.debezium}`,
    service,
    async () => {
      const states = await Promise.all(options.connectors.map((c) => connectorStatus(url, c.name)))
      const broken = states.find(failed)
      if (broken) {
        await service.kill()
        throw new Error(`a connector failed to start: ${broken.connector?.trace ?? broken.tasks?.find((t) => t.trace)?.trace ?? 'no trace'}\nlog ${logFile}:\n${log().slice(-3000)}`)
      }
      return states.every(running)
    },
    { timeoutMs: options.startTimeoutMs ?? 90_000, logTail: () => `log ${logFile}:\n${log().slice(-3000)}` },
  )
  return { url, pid: service.pid, version: versions.connect, debeziumVersion: versions.debezium, logFile, stop: () => service.stop(), kill: () => service.kill() }
}

/** Stops a worker started detached (by the pid file in its data directory). */
export function stopLocalConnect(dataDir: string): Promise<boolean> {
  return stopByPidFile(join(resolve(dataDir), 'connect.pid'))
}

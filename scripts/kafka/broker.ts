import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, closeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, portAnswers, serviceProcess, stopByPidFile, waitUntilReady, type LocalService } from '../processes.js'

/*
 * A real single-node Apache Kafka broker (KRaft: broker and controller in one JVM) from the jars
 * that scripts/kafka/pom.xml resolves from Maven Central, for machines without a Docker engine.
 * The launch mirrors Kafka's own bin/kafka-storage.sh and bin/kafka-server-start.sh:
 * `kafka.tools.StorageTool format -t <cluster-id> -c server.properties` once, then
 * `kafka.Kafka server.properties`, ready when the log says "Kafka Server started".
 */

const HERE = fileURLToPath(new URL('.', import.meta.url))
/** The folder with pom.xml and log4j2.properties (the sources, also when running from dist/). */
export const KAFKA_DIR = existsSync(join(HERE, 'pom.xml')) ? HERE : resolve(HERE, '../../../scripts/kafka')
export const LIBS_DIR = join(KAFKA_DIR, 'libs')

export interface LocalBrokerOptions {
  /** Broker data and logs; reused (not reformatted) when it already holds a formatted log. */
  readonly dataDir: string
  /** The client port; a free one when omitted. Fix it to restart a broker on the same address. */
  readonly port?: number
  readonly controllerPort?: number
  readonly heap?: string
  readonly startTimeoutMs?: number
  /** Default partitions of auto-created topics. */
  readonly partitions?: number
  /** Keep running after this process exits (the CLI's `kafka start`). */
  readonly detached?: boolean
}

export interface LocalBroker extends LocalService {
  /** host:port for clients. */
  readonly brokers: string
  readonly dataDir: string
  readonly logFile: string
  readonly port: number
  readonly controllerPort: number
}

/** The Kafka version of the resolved jars, or undefined when they are not there. */
export function kafkaVersion(libsDir = LIBS_DIR): string | undefined {
  if (!existsSync(libsDir)) return undefined
  const jar = readdirSync(libsDir).find((f) => /^kafka_2\.13-[\d.]+\.jar$/.test(f))
  return jar?.replace(/^kafka_2\.13-/, '').replace(/\.jar$/, '')
}

/** Resolves the broker jars with Maven into scripts/kafka/libs (cached in ~/.m2) unless present. */
export function ensureKafkaJars(log: (msg: string) => void = () => {}): string {
  if (kafkaVersion()) return LIBS_DIR
  log(`resolving Kafka broker jars with mvn into ${LIBS_DIR}`)
  const mvn = spawnSync('mvn', ['-q', '-B', '-f', join(KAFKA_DIR, 'pom.xml'), 'dependency:copy-dependencies'], { stdio: 'inherit' })
  if (mvn.error) throw new Error(`cannot run mvn (${mvn.error.message}): install Maven and Java 17, or set KAFKA_BROKERS to an existing broker`)
  if (mvn.status !== 0 || !kafkaVersion()) throw new Error(`mvn dependency:copy-dependencies failed (exit ${mvn.status}); see its output above`)
  return LIBS_DIR
}

function java(args: string[], classpath: string): string[] {
  return ['-cp', `${classpath}/*`, ...args]
}

function serverProperties(o: { port: number; controllerPort: number; logDirs: string; partitions: number }): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${o.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${o.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${o.logDirs}`,
    `num.partitions=${o.partitions}`,
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'log.retention.hours=168',
    '',
  ].join('\n')
}

/** Formats (once) and starts a broker; resolves when it accepts connections. */
export async function startLocalBroker(options: LocalBrokerOptions): Promise<LocalBroker> {
  const libs = ensureKafkaJars()
  const version = kafkaVersion() as string
  const dataDir = resolve(options.dataDir)
  const logDirs = join(dataDir, 'log')
  mkdirSync(logDirs, { recursive: true })
  const propsFile = join(dataDir, 'server.properties')
  const stateFile = join(dataDir, 'broker.json')
  const previous = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { port: number; controllerPort: number }) : undefined
  const port = options.port ?? previous?.port ?? (await freePort())
  const controllerPort = options.controllerPort ?? previous?.controllerPort ?? (await freePort())
  writeFileSync(propsFile, serverProperties({ port, controllerPort, logDirs, partitions: options.partitions ?? 6 }))
  writeFileSync(stateFile, JSON.stringify({ port, controllerPort }))

  if (!existsSync(join(logDirs, 'meta.properties'))) {
    const uuid = spawnSync('java', java(['kafka.tools.StorageTool', 'random-uuid'], libs), { encoding: 'utf8' })
    const clusterId = uuid.stdout.trim().split('\n').pop()
    if (uuid.status !== 0 || !clusterId) throw new Error(`kafka StorageTool random-uuid failed: ${uuid.stderr}`)
    const format = spawnSync('java', java(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile], libs), { encoding: 'utf8' })
    if (format.status !== 0) throw new Error(`kafka StorageTool format failed: ${format.stdout}${format.stderr}`)
  }

  const logFile = join(dataDir, 'broker.log')
  const out = openSync(logFile, 'a')
  const startOffset = existsSync(logFile) ? readFileSync(logFile).length : 0
  const heap = options.heap ?? '512m'
  const child = spawn(
    'java',
    [`-Xmx${heap}`, `-Xms${heap}`, '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${join(KAFKA_DIR, 'log4j2.properties')}`, ...java(['kafka.Kafka', propsFile], libs)],
    { stdio: ['ignore', out, out], detached: options.detached ?? false },
  )
  closeSync(out)
  if (options.detached) child.unref()
  const service = serviceProcess(child, 'java')
  writeFileSync(join(dataDir, 'broker.pid'), String(service.pid))
  const log = () => readFileSync(logFile, 'utf8').slice(startOffset)
  await waitUntilReady('the Kafka broker', service, async () => log().includes('Kafka Server started') && (await portAnswers(port)), {
    timeoutMs: options.startTimeoutMs ?? 60_000,
    logTail: () => `log ${logFile}:\n${log().slice(-3000)}`,
  })
  return { brokers: `127.0.0.1:${port}`, pid: service.pid, version, dataDir, logFile, port, controllerPort, stop: () => service.stop(), kill: () => service.kill() }
}

/** Stops a broker started detached (by pid file in its data directory). */
export function stopLocalBroker(dataDir: string): Promise<boolean> {
  return stopByPidFile(join(resolve(dataDir), 'broker.pid'))
}

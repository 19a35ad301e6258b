import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startLocalBroker, type LocalBroker } from '../../scripts/kafka/broker.js'
import { connectVersions, ensureConnectJars } from '../../scripts/connect/connect.js'
import { startLocalMariaDb } from '../../scripts/connect/mariadb.js'
import { dockerAvailable } from './docker.js'

/*
 * Starts the real services the integration tests need, once per run:
 *   Kafka:      KAFKA_BROKERS if set; else a testcontainers broker where a Docker engine answers;
 *               else a local KRaft broker from the Maven Central jars (scripts/kafka).
 *   ClickHouse: CLICKHOUSE_URL if set; else a testcontainers server where Docker answers; else the
 *               embedded engine (chDB), opened by each test process in its own directory.
 *   CDC:        a private MariaDB server (its own data directory and port, row-based binlog) from
 *               the machine's MariaDB packages; the Kafka Connect and Debezium jars from Maven
 *               Central (scripts/connect), which the CDC tests start as they need them.
 * A service that cannot be had fails the run: integration tests are never skipped silently.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string
    kafkaDescription: string
    clickhouseUrl: string | null
    mariadbPort: number
  }
}

const stops: (() => Promise<void>)[] = []

async function kafka(docker: boolean): Promise<{ brokers: string; description: string }> {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS, description: `KAFKA_BROKERS=${process.env.KAFKA_BROKERS}` }
  if (docker) {
    const { KafkaContainer } = await import('@testcontainers/kafka')
    const container = await new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().start()
    stops.push(async () => void (await container.stop()))
    return { brokers: `${container.getHost()}:${container.getMappedPort(9093)}`, description: 'testcontainers confluentinc/cp-kafka:7.9.0 (KRaft; the image @testcontainers/kafka supports)' }
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'streamcube-kafka-'))
  let broker: LocalBroker
  try {
    broker = await startLocalBroker({ dataDir, partitions: 3 })
  } catch (err) {
    throw new Error(`integration tests need Kafka and none could be started: ${(err as Error).message}\nSet KAFKA_BROKERS, or install Java 17 + Maven (the jars come from Maven Central).`)
  }
  stops.push(async () => {
    await broker.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })
  return { brokers: broker.brokers, description: `local Apache Kafka ${broker.version} (KRaft, jars from Maven Central, pid ${broker.pid})` }
}

async function clickhouse(docker: boolean): Promise<{ url: string | null; description: string }> {
  if (process.env.CLICKHOUSE_URL) return { url: process.env.CLICKHOUSE_URL, description: `CLICKHOUSE_URL=${process.env.CLICKHOUSE_URL}` }
  if (docker) {
    const { ClickHouseContainer } = await import('@testcontainers/clickhouse')
    const container = await new ClickHouseContainer('clickhouse/clickhouse-server:25.8').start()
    stops.push(async () => void (await container.stop()))
    return { url: container.getConnectionUrl(), description: 'testcontainers clickhouse/clickhouse-server:25.8' }
  }
  const { createRequire } = await import('node:module')
  const version = (createRequire(import.meta.url)('chdb/package.json') as { version: string }).version
  return { url: null, description: `embedded ClickHouse engine (chdb ${version}), one data directory per test process` }
}

async function cdc(): Promise<{ port: number; description: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'streamcube-mariadb-'))
  let versions
  try {
    ensureConnectJars()
    versions = connectVersions() as { connect: string; debezium: string }
    const db = await startLocalMariaDb({ dataDir })
    stops.push(async () => {
      await db.stop()
      rmSync(dataDir, { recursive: true, force: true })
    })
    return { port: db.port, description: `MariaDB ${db.version} (private server, row-based binlog, pid ${db.pid}) at 127.0.0.1:${db.port}; Kafka Connect ${versions.connect} with Debezium ${versions.debezium} (MariaDB connector; jars from Maven Central)` }
  } catch (err) {
    throw new Error(`the CDC tests need MariaDB and Kafka Connect and they could not be started: ${(err as Error).message}\nInstall mariadb-server (Debian) and Java 17 + Maven (\`npm run connect:jars\`).`)
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const docker = await dockerAvailable()
  const [k, c, m] = await Promise.all([kafka(docker), clickhouse(docker), cdc()])
  process.stdout.write(`\n[services] Kafka: ${k.description} at ${k.brokers}\n[services] ClickHouse: ${c.description}\n[services] CDC: ${m.description}\n\n`)
  project.provide('mariadbPort', m.port)
  project.provide('kafkaBrokers', k.brokers)
  project.provide('kafkaDescription', k.description)
  project.provide('clickhouseUrl', c.url)
  return async () => {
    for (const stop of stops.reverse()) await stop()
  }
}

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Command } from 'commander'
import { CONNECT_DIR, connectVersions, debeziumConnector, ensureConnectJars, startLocalConnect, stopLocalConnect } from '../../scripts/connect/connect.js'
import { mariaDbQuery, startLocalMariaDb, stopLocalMariaDb } from '../../scripts/connect/mariadb.js'
import { requireBrokers } from '../../schemas/index.js'
import { positiveInt } from '../options.js'
import type { CliContext } from '../context.js'

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

interface StartOptions {
  brokers?: string
  dataDir: string
  localMariadb?: boolean
  dbHost: string
  dbPort?: number
  dbUser: string
  dbPassword?: string
  database: string
  tables: string
  topicPrefix: string
  restPort?: number
}

/** `streamcube connect`: Kafka Connect standalone with Debezium, for the CDC path in development (mirrors `kafka start`). */
export function registerConnect(program: Command, ctx: CliContext): void {
  const connect = program
    .command('connect')
    .description('Kafka Connect (standalone) with Debezium\'s MariaDB/MySQL connector, from Maven Central jars: CDC of an orders and an inventory table into Kafka, for development without Docker')
  connect
    .command('jars')
    .description('Resolve the Kafka Connect and Debezium jars with mvn into scripts/connect/libs (cached in ~/.m2)')
    .action(() => {
      ensureConnectJars((m) => ctx.print(m))
      const v = connectVersions()
      ctx.print(`Kafka Connect ${v?.connect} with Debezium ${v?.debezium} jars ready`)
    })
  connect
    .command('start')
    .description('Start Kafka Connect in the background with a Debezium connector on the database\'s tables, and print the --source flags for `streamcube run`')
    .option('--brokers <list>', 'host:port[,host:port] (env KAFKA_BROKERS)')
    .option('--data-dir <dir>', 'Connect data directory (offsets, schema history, log)', '.streamcube/connect')
    .option('--local-mariadb', 'also start a private MariaDB with a row-based binlog under <data-dir>/mariadb, with the README\'s orders and inventory tables')
    .option('--db-host <host>', 'database host', '127.0.0.1')
    .option('--db-port <port>', 'database port (default 3306; with --local-mariadb its own port)', positiveInt('--db-port'))
    .option('--db-user <user>', 'database user with REPLICATION SLAVE, REPLICATION CLIENT, SELECT and RELOAD', 'root')
    .option('--db-password <password>', 'database password (env MARIADB_PASSWORD; default empty)')
    .option('--database <name>', 'the database that holds the tables', 'shop')
    .option('--tables <list>', 'tables to capture, comma-separated', 'orders,inventory')
    .option('--topic-prefix <prefix>', 'Debezium topic prefix: topics are <prefix>.<database>.<table>', 'shop')
    .option('--rest-port <port>', 'Kafka Connect REST port (default: the previous one, or a free one)', positiveInt('--rest-port'))
    .addHelpText('after', '\nExample (a whole CDC playground):\n  streamcube kafka start && export KAFKA_BROKERS=…\n  streamcube connect start --local-mariadb\n  streamcube run gmv lifecycle inventory --source order=debezium:shop.shop.orders --source inventory=debezium:shop.shop.inventory')
    .action(async (opts: StartOptions) => {
      const brokers = requireBrokers(ctx.config({ 'kafka.brokers': opts.brokers }))
      const tables = opts.tables.split(',').map((t) => t.trim()).filter(Boolean)
      for (const name of [opts.database, ...tables]) if (!IDENTIFIER.test(name)) return ctx.usageError(`"${name}" is not a plain table or database name (letters, digits and "_")`)
      if (!/^[A-Za-z0-9._-]+$/.test(opts.topicPrefix)) return ctx.usageError('--topic-prefix takes letters, digits, ".", "_" and "-"')
      ensureConnectJars((m) => ctx.print(m))
      let db = { host: opts.dbHost, port: opts.dbPort ?? 3306, user: opts.dbUser, password: opts.dbPassword ?? process.env.MARIADB_PASSWORD ?? '' }
      if (opts.localMariadb) {
        const local = await startLocalMariaDb({ dataDir: join(opts.dataDir, 'mariadb'), port: opts.dbPort, detached: true })
        db = { host: local.host, port: local.port, user: local.user, password: local.password }
        mariaDbQuery(db, `CREATE DATABASE IF NOT EXISTS ${opts.database}`)
        mariaDbQuery(db, readFileSync(join(CONNECT_DIR, 'shop.sql'), 'utf8'), opts.database)
        ctx.print(`MariaDB ${local.version} started (pid ${local.pid}) at ${local.host}:${local.port}, database ${opts.database} with the orders and inventory tables\n  mariadb -h${local.host} -P${local.port} -uroot ${opts.database}`)
      }
      const connector = debeziumConnector({ name: `streamcube-${opts.database}`, ...db, database: opts.database, tables, topicPrefix: opts.topicPrefix, historyFile: join(opts.dataDir, 'schema-history.dat'), serverId: 5400 })
      const worker = await startLocalConnect({ dataDir: opts.dataDir, brokers: brokers.join(','), connectors: [connector], restPort: opts.restPort, detached: true })
      const sources = tables.map((t) => `--source ${t === 'inventory' ? 'inventory' : 'order'}=debezium:${opts.topicPrefix}.${opts.database}.${t}`)
      ctx.print(`Kafka Connect ${worker.version} with Debezium ${worker.debeziumVersion} started (pid ${worker.pid}); REST ${worker.url}; log ${worker.logFile}\nread it with:\n  streamcube run ${sources.join(' ')}`)
    })
  connect
    .command('stop')
    .description('Stop Kafka Connect started by `connect start` (and its private MariaDB, if it started one)')
    .option('--data-dir <dir>', 'Connect data directory', '.streamcube/connect')
    .action(async (opts: { dataDir: string }) => {
      const stopped = await stopLocalConnect(opts.dataDir)
      const db = await stopLocalMariaDb(join(opts.dataDir, 'mariadb'))
      ctx.print(`${stopped ? 'Kafka Connect stopped' : 'no running Kafka Connect found'}${db ? '; MariaDB stopped' : ''}`)
    })
}

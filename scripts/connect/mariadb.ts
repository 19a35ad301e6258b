import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { freePort, portAnswers, serviceProcess, stopByPidFile, waitUntilReady, type LocalService } from '../processes.js'

/*
 * A private MariaDB server for the CDC path: its own data directory and port, with the row-based
 * binary log Debezium reads (log_bin, binlog_format=ROW, binlog_row_image=FULL, a server id), so
 * the machine's own database is left as it is. The launch mirrors a package's own set-up:
 * `mariadb-install-db` once, then `mariadbd`; ready when it accepts connections.
 */

export interface LocalMariaDbOptions {
  /** Data, binary logs and the error log; reused (not re-initialised) when it already holds a database. */
  readonly dataDir: string
  /** The TCP port; the previous one or a free one when omitted. */
  readonly port?: number
  /** Keep running after this process exits (the CLI's `connect start --local-mariadb`). */
  readonly detached?: boolean
  readonly startTimeoutMs?: number
}

export interface LocalMariaDb extends LocalService, MariaDbAddress {
  readonly dataDir: string
}

/** Where Debian puts the server binaries (often not on a non-root PATH). */
const SBIN = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/usr/libexec']

function binary(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...SBIN]) if (dir && existsSync(join(dir, name))) return join(dir, name)
  return undefined
}

/** The server's version (`mariadbd --version`), or undefined when MariaDB is not installed. */
export function mariaDbVersion(): string | undefined {
  const server = binary('mariadbd')
  if (!server) return undefined
  const out = spawnSync(server, ['--version'], { encoding: 'utf8' }).stdout ?? ''
  return /Ver\s+(\S+)/.exec(out)?.[1]
}

const asRoot = () => typeof process.getuid === 'function' && process.getuid() === 0

/** Initialises (once) and starts a private server; resolves when it accepts connections. */
export async function startLocalMariaDb(options: LocalMariaDbOptions): Promise<LocalMariaDb> {
  const server = binary('mariadbd')
  const install = binary('mariadb-install-db')
  const version = mariaDbVersion()
  if (!server || !install || !version) throw new Error('MariaDB is not installed: `apt-get install mariadb-server` (Debian), or point the connector at your own server')
  const dataDir = resolve(options.dataDir)
  const data = join(dataDir, 'data')
  mkdirSync(dataDir, { recursive: true })
  const stateFile = join(dataDir, 'mariadb.json')
  const previous = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { port: number }) : undefined
  const port = options.port ?? previous?.port ?? (await freePort())
  writeFileSync(stateFile, JSON.stringify({ port }))
  const user = asRoot() ? ['--user=root'] : []
  if (!existsSync(join(data, 'mysql'))) {
    const init = spawnSync(install, ['--no-defaults', `--datadir=${data}`, ...user, '--auth-root-authentication-method=normal', '--skip-test-db'], { encoding: 'utf8' })
    if (init.status !== 0) throw new Error(`mariadb-install-db failed (exit ${init.status}):\n${init.stdout}${init.stderr}`)
  }
  const logFile = join(dataDir, 'mariadb.err')
  const out = openSync(join(dataDir, 'mariadb.out'), 'a')
  const child = spawn(
    server,
    [
      '--no-defaults',
      `--datadir=${data}`,
      ...user,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(dataDir, 'mariadb.sock')}`,
      `--pid-file=${join(dataDir, 'mariadbd.pid')}`,
      `--log-error=${logFile}`,
      `--log-bin=${join(data, 'binlog')}`,
      '--binlog-format=ROW',
      '--binlog-row-image=FULL',
      '--server-id=1',
      '--skip-name-resolve',
    ],
    { stdio: ['ignore', out, out], detached: options.detached ?? false },
  )
  closeSync(out)
  if (options.detached) child.unref()
  const service = serviceProcess(child, 'mariadbd')
  writeFileSync(join(dataDir, 'mariadb.pid'), String(service.pid))
  await waitUntilReady(`MariaDB ${version}`, service, () => portAnswers(port), {
    timeoutMs: options.startTimeoutMs ?? 60_000,
    logTail: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : ''),
  })
  return { host: '127.0.0.1', port, user: 'root', password: '', version, pid: service.pid, dataDir, stop: () => service.stop(), kill: () => service.kill() }
}

/** Stops a server started detached (by the pid file in its data directory). */
export function stopLocalMariaDb(dataDir: string): Promise<boolean> {
  return stopByPidFile(join(resolve(dataDir), 'mariadb.pid'))
}

export interface MariaDbAddress {
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: string
}

/**
 * Runs SQL with the `mariadb` command-line client (installed with the server) and returns the
 * rows, tab-separated fields, NULL as null. Throws with the client's message on an error.
 */
export function mariaDbQuery(db: MariaDbAddress, sql: string, database?: string): (string | null)[][] {
  const client = binary('mariadb') ?? binary('mysql')
  if (!client) throw new Error('the mariadb client is not installed: `apt-get install mariadb-client`')
  const args = ['--no-defaults', '--protocol=TCP', `-h${db.host}`, `-P${db.port}`, `-u${db.user}`, '--batch', '--skip-column-names', '--raw', ...(database ? [database] : [])]
  const run = spawnSync(client, args, { input: sql, encoding: 'utf8', env: { ...process.env, MYSQL_PWD: db.password } })
  if (run.status !== 0) throw new Error(`mariadb: ${run.stderr.trim() || `exit ${run.status}`}`)
  return run.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t').map((v) => (v === 'NULL' ? null : v)))
}

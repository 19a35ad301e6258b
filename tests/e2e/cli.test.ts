import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, createReadStream, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import avro from 'avsc'
import { describe, expect, it } from 'vitest'
import { brokers, randomPrefix, testKafka } from '../services/kafka.js'
import { newDataDir } from '../services/clickhouse.js'
import { connectClickHouse } from '../../sinks/index.js'
import { mariaDbQuery } from '../../scripts/connect/mariadb.js'
import { waitFor } from '../integration/engine/harness.js'

const BIN = join(process.cwd(), 'bin/streamcube.js')
const BASE_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['KAFKA_BROKERS', 'CLICKHOUSE_URL', 'API_PORT', 'LOG_LEVEL'].includes(k)))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

interface Started {
  /** What it printed so far. */
  readonly output: () => Run
  /** Resolves when it exits. */
  readonly exited: Promise<Run>
  /** Ctrl-C, as a user stops it; fails with its output so far if it has not exited within `withinMs`. */
  readonly stop: (withinMs?: number) => Promise<Run>
}

/** Starts the built CLI as a user would. */
function startCli(args: string[], env: Record<string, string> = {}, onStdout?: (text: string) => void): Started {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...BASE_ENV, LOG_LEVEL: 'warn', ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
    onStdout?.(stdout)
  })
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })))
  const output = () => ({ code: child.exitCode, stdout, stderr })
  const stop = async (withinMs = 60_000) => {
    child.kill('SIGINT')
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), withinMs)))
    const run = await Promise.race([exited, late])
    clearTimeout(timer)
    if (run) return run
    child.kill('SIGKILL')
    throw new Error(`streamcube ${args.join(' ')} did not exit within ${withinMs} ms of SIGINT; it printed:\n${stdout}\n${stderr.slice(-6000)}`)
  }
  return { output, exited, stop }
}

/** Runs the built CLI as a user would; resolves when it exits. */
function cli(args: string[], env: Record<string, string> = {}, onStdout?: (text: string) => void): Promise<Run> {
  return startCli(args, env, onStdout).exited
}

/** A demo the test stops with Ctrl-C; this bounds one it lost (seconds). */
const DEMO_BACKSTOP_S = 150

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

describe('the streamcube CLI', () => {
  it('has --help on every subcommand', async () => {
    const commands = ['generate', 'produce', 'migrate', 'demo', 'run', 'pipelines', 'rebuild', 'api', 'kafka', 'kafka start', 'kafka stop', 'kafka jars', 'connect', 'connect start', 'connect stop', 'connect jars']
    const top = await cli(['--help'])
    expect(top.code).toBe(0)
    for (const c of ['generate', 'produce', 'migrate', 'demo', 'run', 'api', 'kafka']) expect(top.stdout).toContain(c)
    for (const c of commands) {
      const r = await cli([...c.split(' '), '--help'])
      expect(r.code, c).toBe(0)
      expect(r.stdout, c).toMatch(/Usage: streamcube /)
    }
  })

  it('runs as an executable: its first line starts node with the worker\'s V8 flags, which npm start and the image run through it', async () => {
    expect(readFileSync(BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=50')
    const root = new URL('../../', import.meta.url)
    expect((JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> }).scripts.start).toBe('bin/streamcube.js demo')
    expect(readFileSync(new URL('Dockerfile', root), 'utf8')).toMatch(/^ENTRYPOINT \["bin\/streamcube\.js"\]$/m)
    const r = await new Promise<Run>((resolve) => {
      const child = spawn(BIN, ['--help'], { env: BASE_ENV })
      let stdout = ''
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
      child.on('exit', (code) => resolve({ code, stdout, stderr: '' }))
    })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Usage: streamcube /)
  })

  it('generate is deterministic per seed and writes readable NDJSON and Avro files', async () => {
    const [a, b, c] = [mkdtempSync(join(tmpdir(), 'gen-')), mkdtempSync(join(tmpdir(), 'gen-')), mkdtempSync(join(tmpdir(), 'gen-'))]
    const args = ['--events', '8000', '--seed', '3', '--start', '2026-11-16T00:00:00+08:00']
    expect((await cli(['generate', '--out', a, ...args])).code).toBe(0)
    const second = await cli(['generate', '--out', b, ...args])
    expect(second.stdout).toMatch(/generated 8,000 events/)
    for (const f of readdirSync(a)) expect(sha(join(b, f)), f).toBe(sha(join(a, f)))
    const lines = readdirSync(a).reduce((n, f) => n + readFileSync(join(a, f), 'utf8').trim().split('\n').length, 0)
    expect(lines).toBe(8000)

    expect((await cli(['generate', '--out', c, '--format', 'avro', ...args])).code).toBe(0)
    let records = 0
    for (const f of readdirSync(c)) {
      await new Promise<void>((resolve, reject) => {
        createReadStream(join(c, f)).pipe(new avro.streams.BlockDecoder()).on('data', () => records++).on('end', resolve).on('error', reject)
      })
    }
    expect(records).toBe(8000)
  })

  it('produce writes to the real broker and prints a summary', async () => {
    const prefix = randomPrefix('cli')
    const r = await cli(['produce', '--events', '3000', '--topic-prefix', prefix, '--partitions', '2'], { KAFKA_BROKERS: brokers().join(',') })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/produced 3,000 events/)
    const admin = testKafka().admin()
    await admin.connect()
    let total = 0
    for (const t of ['behaviour', 'orders', 'inventory']) for (const o of await admin.fetchTopicOffsets(`${prefix}${t}`)) total += Number(o.high)
    await admin.deleteTopics({ topics: ['behaviour', 'orders', 'inventory'].map((t) => `${prefix}${t}`) })
    await admin.disconnect()
    expect(total).toBe(3000)
  })

  it('demo (npm start) loads the example alert rules, draws the city\'s map frame, fills the baseline weeks and publishes its watermark', { timeout: 120_000 }, async () => {
    const dataDir = join(newDataDir(), 'chdb')
    let address = ''
    const checked: Record<string, unknown> = {}
    const get = async (path: string) => (await fetch(`${address}${path}`)).json() as Promise<Record<string, any>> // eslint-disable-line @typescript-eslint/no-explicit-any
    // Stopped with Ctrl-C once the checks are done; the duration only bounds a run the test lost.
    const demo = startCli(['demo', '--port', '0', '--data-dir', dataDir, '--backfill-minutes', '30', '--duration', String(DEMO_BACKSTOP_S)], { ALERT_EVAL_INTERVAL_MS: '2000' }, (out) => {
      address ||= /page and API at (http:\/\/[\d.:]+)/.exec(out)?.[1] ?? ''
    })
    try {
      await waitFor('the demo\'s API', async () => address !== '' && (await fetch(`${address}/ready`).catch(() => null))?.ok === true, 60_000)
      await waitFor('the example rules', async () => ((await get('/v1/alerts/rules')).rules ?? []).length === 5, 30_000)
      const frame = await get('/v1/geo/frame')
      checked.districts = frame.districts.length
      checked.filePoints = frame.communities.filter((c: { source: string }) => c.source === 'file').length
      const started = Date.now()
      // A recent watermark: the baseline weeks and the backfill are in, the live stream flowing.
      await waitFor('a recent watermark', async () => {
        const f = await get('/v1/freshness')
        return f.watermark !== null && Date.now() - Date.parse(f.watermark) < 60_000
      }, 60_000)
      // The baseline's span a week back (from the backfill's start to six hours past the demo's
      // start) has orders: the dynamic-baseline example's history. Six hours, so that even a start in
      // the small hours has some. (Asked once, after the fill: an old range is cached for 5 minutes.)
      const weekBack = await get(`/v1/sales/overview?from=${new Date(started - 7 * 86_400_000 - 30 * 60_000).toISOString()}&to=${new Date(started - 7 * 86_400_000 + 6 * 3_600_000 - 60_000).toISOString()}`)
      checked.weekBackOrders = weekBack.totals.orders > 0
    } catch (err) {
      await demo.stop().catch(() => undefined)
      throw err
    }
    const done = await demo.stop()
    expect(done.code, done.stderr).toBe(0)
    expect(done.stdout).toMatch(/alert rules from .*cli\/examples\/alert-rules\.yaml \(the examples/)
    expect(checked).toEqual({ districts: 16, filePoints: 30, weekBackOrders: true })
    expect(done.stderr).not.toMatch(/"level":50/)
    expect(done.stderr).not.toMatch(/stopping: still waiting/)
  })

  it('connect start --local-mariadb starts MariaDB and Kafka Connect with Debezium in the background, prints the --source flags; a row change reaches its topic; connect stop stops both', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'streamcube-cli-connect-'))
    const prefix = randomPrefix('clicdc').replace(/\.$/, '')
    const started = await cli(['connect', 'start', '--local-mariadb', '--data-dir', dataDir, '--topic-prefix', prefix], { KAFKA_BROKERS: brokers().join(',') })
    try {
      expect(started.code, started.stderr).toBe(0)
      expect(started.stdout).toMatch(/Kafka Connect [\d.]+ with Debezium [\w.]+ started/)
      expect(started.stdout).toContain(`streamcube run --source order=debezium:${prefix}.shop.orders --source inventory=debezium:${prefix}.shop.inventory`)
      const port = Number(/at 127\.0\.0\.1:(\d+), database shop/.exec(started.stdout)?.[1])
      const db = { host: '127.0.0.1', port, user: 'root', password: '' }
      mariaDbQuery(db, "INSERT INTO inventory VALUES ('wh-1', 'c-1', 'sku-1', 'b-1', 12, NULL, NULL, UTC_TIMESTAMP(3))", 'shop')
      const admin = testKafka().admin()
      await admin.connect()
      try {
        await waitFor('the change on its topic', async () => (await admin.fetchTopicOffsets(`${prefix}.shop.inventory`).catch(() => [])).some((o) => Number(o.high) > 0), 60_000)
      } finally {
        await admin.disconnect()
      }
    } finally {
      const stopped = await cli(['connect', 'stop', '--data-dir', dataDir])
      expect(stopped.stdout).toBe('Kafka Connect stopped; MariaDB stopped\n')
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('configuration and argument mistakes stop with status 2 and say how to fix them', async () => {
    const noBroker = await cli(['produce', '--events', '10'])
    expect(noBroker.code).toBe(2)
    expect(noBroker.stderr).toMatch(/KAFKA_BROKERS is empty: set it to host:port\[,host:port\]/)
    const badPort = await cli(['demo'], { API_PORT: '99999' })
    expect(badPort.code).toBe(2)
    expect(badPort.stderr).toMatch(/API_PORT \(or --port\) is invalid.*set it to a port number/)
    const badCount = await cli(['generate', '--out', '/tmp/x', '--events', 'many'])
    expect(badCount.code).toBe(2)
    expect(badCount.stderr).toMatch(/--events must be a positive whole number/)
    const badKeys = await cli(['api', '--port', '0'], { API_KEYS: '[{"name":"ops","keyHash":"plain","role":"admin"}]' })
    expect(badKeys.code).toBe(2)
    expect(badKeys.stderr).toMatch(/API_KEYS\[0\.keyHash\] is invalid \(expected sha256:/)
    const unknown = await cli(['run', 'nope'], { KAFKA_BROKERS: '127.0.0.1:1' })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown pipeline "nope"; known: facts, gmv/)
    const badSource = await cli(['run', 'gmv', '--source', 'orders=debezium:shop.shop.orders'], { KAFKA_BROKERS: '127.0.0.1:1' })
    expect(badSource.code).toBe(2)
    expect(badSource.stderr).toMatch(/STREAMCUBE_SOURCES \(or --source\) is invalid \("orders=debezium:shop.shop.orders": the stream "orders" is not one of behaviour, order, inventory\): give each source as <stream>=<format>:<topic>/)
    const badEnvSource = await cli(['run', 'gmv'], { KAFKA_BROKERS: '127.0.0.1:1', STREAMCUBE_SOURCES: 'order=debezium:a,behaviour=canal:b' })
    expect(badEnvSource.code).toBe(2)
    expect(badEnvSource.stderr).toMatch(/behaviour has no CDC source \(use json or confluent-avro\)/)
    const dataDir = newDataDir()
    const badCube = await cli(['rebuild', 'nope', '--from', '2026-11-01', '--to', '2026-11-02', '--data-dir', dataDir])
    expect(badCube.code).toBe(2)
    expect(badCube.stderr).toMatch(/unknown cube "nope"; rebuildable cubes: gmv, activity/)
    const badTime = await cli(['rebuild', 'gmv', '--from', 'yesterday', '--to', '2026-11-02', '--data-dir', dataDir])
    expect(badTime.code).toBe(2)
    expect(badTime.stderr).toMatch(/--from "yesterday" is not a time/)
    const open = await cli(['rebuild', 'gmv', '--from', '2020-01-01', '--to', '2999-01-01', '--data-dir', dataDir])
    expect(open.code).toBe(2)
    expect(open.stderr).toMatch(/live pipelines may still write there.*--force/)
    const done = await cli(['rebuild', 'gmv', '--from', '2026-01-01', '--to', '2026-01-02', '--data-dir', dataDir])
    expect(done.code, done.stderr).toBe(0)
    expect(done.stdout).toMatch(/rebuilt gmv from 2026-01-01T00:00:00.000Z to 2026-01-02T00:00:00.000Z: 0 raw events/)
  })

  it('migrate applies the migrations once on the embedded engine, and prints the cluster variant', async () => {
    const dataDir = newDataDir()
    const first = await cli(['migrate', '--data-dir', dataDir])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/embedded ClickHouse, database streamcube: [1-9]\d* applied, 0 already applied/)
    const again = await cli(['migrate', '--data-dir', dataDir])
    expect(again.stdout).toMatch(/: 0 applied, [1-9]\d* already applied/)
    const status = await cli(['migrate', '--data-dir', dataDir, '--status'])
    expect(status.stdout).toMatch(/0001_raw_facts {2}applied/)
    const printed = await cli(['migrate', '--print', '--cluster', 'analytics'])
    expect(printed.stdout).toContain("ON CLUSTER 'analytics'")
    expect(printed.stdout).toMatch(/ENGINE = ReplicatedMergeTree/)
  })

  it('demo (npm start) runs generator → embedded ClickHouse → API, and stops cleanly', { timeout: 180_000 }, async () => {
    const dataDir = newDataDir()
    // Each run is stopped with Ctrl-C once what it must show has landed (wall-clock durations
    // flake on a loaded machine); the duration only bounds a run the test lost.
    const demo = (env: Record<string, string> = {}) => {
      let base = ''
      const started = startCli(['demo', '--port', '0', '--data-dir', dataDir, '--duration', String(DEMO_BACKSTOP_S), '--backfill-minutes', '30'], env, (out) => {
        base ||= /API at (http:\/\/[\d.:]+)/.exec(out)?.[1] ?? ''
      })
      const status = async () => {
        const r = (await (await fetch(`${base}/v1/ingest/status`)).json()) as { tables: { table: string; events: number }[] }
        return Object.fromEntries(r.tables.map((t) => [t.table, t.events]))
      }
      return { ...started, base: () => base, status }
    }
    const first = demo()
    let checked: { health: unknown; ready: number; status: Record<string, number>; page: string; notFound: { code: string } }
    try {
      await waitFor('the demo\'s API', async () => first.base() !== '' && (await fetch(`${first.base()}/ready`).catch(() => null)) !== null, 60_000)
      const base = first.base()
      const health = await (await fetch(`${base}/health`)).json()
      const ready = await fetch(`${base}/ready`)
      // Every stream has landed (the cubes are written in the same flushes), and the backfill is
      // in: the watermark is recent, so a restart resumes after this run's city.
      await waitFor('events of every stream, and a recent watermark', async () => {
        if (Object.values(await first.status()).filter((n) => n > 0).length < 3) return false
        const f = (await (await fetch(`${base}/v1/freshness`)).json()) as { watermark: string | null }
        return f.watermark !== null && Date.now() - Date.parse(f.watermark) < 60_000
      }, 90_000)
      const page = await (await fetch(`${base}/`)).text()
      const bad = await fetch(`${base}/nope`)
      checked = { health, ready: ready.status, status: await first.status(), page, notFound: (await bad.json()) as { code: string } }
    } catch (err) {
      await first.stop().catch(() => undefined)
      throw err
    }
    const run = await first.stop()
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/demo stopped after [\d,]+ events/)
    expect(run.stderr).not.toMatch(/stopping: still waiting/)
    expect(checked.health).toEqual({ status: 'ok' })
    expect(checked.ready).toBe(200)
    expect(Object.keys(checked.status).sort()).toEqual(['behaviour_events', 'inventory_events', 'order_events'])
    expect(checked.page).toContain('streamcube')
    expect(checked.notFound.code).toBe('API_NOT_FOUND')
    // The pipelines wrote cubes (this process opens the engine only now that the demo has exited).
    const ch = await connectClickHouse({ url: null, database: 'streamcube', dataDir })
    let before: History
    try {
      for (const table of ['gmv_minute', 'activity_minute', 'heatmap_minute', 'products_minute', 'order_lifecycle', 'inventory_batches']) {
        const rs = await ch.client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })
        expect(Number((await rs.json<{ n: string }>())[0]?.n), table).toBeGreaterThan(0)
      }
      before = await history(ch, null)
      before = await history(ch, before.until)
    } finally {
      await ch.close()
    }
    // A restart on the same data directory goes on after the last run's city instead of
    // generating its backfill hours (and the baseline weeks') again: what the first run wrote
    // is counted once. It is stopped once its live stream has added events.
    const second = demo()
    let resumed: Run
    try {
      await waitFor('the resumed city\'s live events', async () => {
        if (!second.output().stdout.includes('resuming the city after') || second.base() === '') return false
        const now = await second.status()
        return (now.behaviour_events ?? 0) + (now.order_events ?? 0) > (checked.status.behaviour_events ?? 0) + (checked.status.order_events ?? 0)
      }, 90_000)
    } finally {
      resumed = await second.stop()
    }
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toContain(`resuming the city after ${new Date(before.until).toISOString()}`)
    expect(resumed.stdout).toMatch(/demo stopped after [\d,]+ events/)
    expect(resumed.stderr).not.toMatch(/stopping: still waiting/)
    const ch2 = await connectClickHouse({ url: null, database: 'streamcube', dataDir })
    try {
      expect(await history(ch2, before.until)).toEqual(before)
      // Its warehouses went on from the batches on hand: no fresh receipt at the restart (the
      // morning restock at 06:00 local is the only receipt a run makes after its start).
      const receipts = await ch2.client.query({
        query: `SELECT count() AS n FROM inventory_events WHERE kind = 'receipt' AND event_time > fromUnixTimestamp64Milli(${before.until}) AND formatDateTime(event_time, '%H:%i', 'Asia/Shanghai') != '06:00'`,
        format: 'JSONEachRow',
      })
      expect(Number((await receipts.json<{ n: string }>())[0]?.n)).toBe(0)
    } finally {
      await ch2.close()
    }
  })
})

interface History {
  readonly until: number
  readonly events: number
  readonly gmv: number
  readonly weekBack: number
}

/**
 * What the demo's city holds up to `until` (ms; null: everything): its last event time, its live
 * day's events and GMV (the last 24 hours), and the events of its baseline weeks up to five hours
 * past `until` one and two weeks back (the first run's baseline reaches six; a restart adds the
 * hours after it).
 */
async function history(ch: Awaited<ReturnType<typeof connectClickHouse>>, until: number | null): Promise<History> {
  const end = until ?? Date.now()
  const day = until === null ? 'event_time > now64() - INTERVAL 1 DAY' : `event_time > fromUnixTimestamp64Milli(${end - 86_400_000}) AND event_time <= fromUnixTimestamp64Milli(${end})`
  const week = (k: number) => `(event_time >= fromUnixTimestamp64Milli(${end - k * 7 * 86_400_000 - 86_400_000}) AND event_time < fromUnixTimestamp64Milli(${end - k * 7 * 86_400_000 + 5 * 3_600_000}))`
  const rs = await ch.client.query({
    query: `SELECT
              greatest((SELECT toUnixTimestamp64Milli(max(event_time)) FROM behaviour_events WHERE ${day}),
                       (SELECT toUnixTimestamp64Milli(max(event_time)) FROM order_events WHERE ${day})) AS until,
              (SELECT count() FROM behaviour_events WHERE ${day}) + (SELECT count() FROM order_events WHERE ${day}) AS events,
              (SELECT sum(amount_cents) FROM order_events WHERE status = 'paid' AND ${day}) AS gmv,
              (SELECT count() FROM behaviour_events WHERE ${week(1)} OR ${week(2)}) AS weekBack`,
    format: 'JSONEachRow',
  })
  const row = (await rs.json<Record<string, string>>())[0] as Record<string, string>
  return { until: Number(row.until), events: Number(row.events), gmv: Number(row.gmv), weekBack: Number(row.weekBack) }
}

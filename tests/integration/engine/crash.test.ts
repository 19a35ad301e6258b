import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, openSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Admin } from 'kafkajs'
import { sideTopics } from '../../../engine/index.js'
import { connectClickHouse } from '../../../sinks/index.js'
import { brokers, deleteTopics, randomPrefix, testKafka } from '../../services/kafka.js'
import { consumeAll } from '../kafka/consume.js'
import { RECENT_START, caughtUp, committedTotal, produceRecords, transports, waitFor } from './harness.js'
import { runOracle } from './oracle.js'
import { plantedStream, topicOf } from './planted.js'

// This file opens the embedded engine only after the worker processes are gone: the engine binds
// one data directory per process, and the workers own it while they run.
const START = RECENT_START
const EVENTS = Number(process.env.CRASH_EVENTS ?? 200_000)
const KILLS = Number(process.env.CRASH_KILLS ?? 10)
const BIN = join(process.cwd(), 'bin/streamcube.js')
// Runs alternate between the transports (where node-rdkafka built): a checkpoint one wrote, the other replays.
const TRANSPORTS = transports()

describe('crash: SIGKILL the worker again and again; the cubes still equal the oracle exactly', () => {
  const kafka = testKafka()
  const prefix = randomPrefix('crash')
  const dataDir = mkdtempSync(join(tmpdir(), 'streamcube-crash-'))
  const groupId = `crash-${prefix}`
  let admin: Admin
  beforeAll(async () => {
    admin = kafka.admin()
    await admin.connect()
  })
  afterAll(async () => {
    await deleteTopics(admin, prefix)
    await admin.disconnect()
  })

  function worker(run: number): ChildProcess {
    const log = openSync(join(dataDir, `worker-${run}.log`), 'a')
    const child = spawn(process.execPath, [BIN, 'run', '--group', groupId, '--data-dir', join(dataDir, 'chdb')], {
      env: { ...process.env, KAFKA_BROKERS: brokers().join(','), KAFKA_TOPIC_PREFIX: prefix, KAFKA_CLIENT: TRANSPORTS[run % TRANSPORTS.length]!, FLUSH_INTERVAL_MS: '200', FLUSH_MAX_RECORDS: '2000', KAFKA_SESSION_TIMEOUT_MS: '6000', LOG_LEVEL: process.env.CRASH_WORKER_LOG ?? 'info', CLICKHOUSE_URL: '' },
      stdio: ['ignore', log, log],
    })
    closeSync(log)
    return child
  }
  const exited = (c: ChildProcess) => new Promise<number | null>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve(c.exitCode) : c.once('exit', (code) => resolve(code))))


  const topics = (['behaviour', 'order', 'inventory'] as const).map((t) => topicOf(prefix, t))
  /** Event ids on the late topic (at least once across crashes, so as a set). */
  async function lateIds(): Promise<Set<string | undefined>> {
    const side = sideTopics(prefix)
    const n = (await admin.fetchTopicOffsets(side.late)).reduce((k, o) => k + Number(o.high), 0)
    return new Set((await consumeAll(kafka, [side.late], n)).map((l) => l.headers?.['streamcube-event-id']?.toString()))
  }

  it(`${EVENTS} planted events, ${KILLS} kills at random moments, then a clean finish`, { timeout: 600_000 }, async () => {
    const planted = plantedStream({ events: EVENTS, seed: 33, start: START, allowedLatenessMs: 300_000 })
    await produceRecords(kafka, prefix, planted.records, 3)
    let seed = 7
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    let midRunKills = 0
    /** Committed offsets after each kill (the margin: the last must stay below the stream's end). */
    const progress: number[] = []
    for (let run = 0; run < KILLS; run++) {
      const child = worker(run)
      const before = await committedTotal(admin, groupId, topics)
      // Let it make some progress, then kill it somewhere in its flush cycle. Small flushes and a
      // short delay keep each run's progress well under a tenth of the stream: all ten kills must
      // land before the work is done (a faster worker once finished it during the ninth run).
      await waitFor('the worker to commit something', async () => (await committedTotal(admin, groupId, topics)) > before || (await caughtUp(admin, groupId, topics)), 60_000, 50)
      await new Promise((r) => setTimeout(r, random() * 400))
      child.kill('SIGKILL')
      await exited(child)
      if (!(await caughtUp(admin, groupId, topics))) midRunKills++
      progress.push(await committedTotal(admin, groupId, topics))
    }
    const last = worker(KILLS)
    await waitFor('the last worker to commit every partition', () => caughtUp(admin, groupId, topics), 240_000)
    last.kill('SIGTERM')
    expect(await exited(last)).toBe(0)
    // The kills landed while the work was in progress, not after it was done.
    expect(midRunKills, `committed after each kill: ${progress.join(', ')} of ${planted.records.length}`).toBe(KILLS)

    const ch = await connectClickHouse({ url: null, database: 'streamcube', dataDir: join(dataDir, 'chdb') })
    try {
      // Every check's disagreement at once (a first failure alone hides whether the raw facts,
      // the quality counts or other cubes are off too); the data directory and the workers' logs
      // stay in dataDir for a look.
      const problems: string[] = []
      const results = await runOracle(ch)
      for (const [name, r] of Object.entries(results)) {
        if ((!r.rare || EVENTS >= 200_000) && r.oracleRows === 0) problems.push(`${name}: the oracle side is empty`)
        if (r.diff !== 0) problems.push(`${name}: ${r.diff} rows differ from the oracle ${JSON.stringify({ cube: r.onlyInCube, oracle: r.onlyInOracle })}`)
      }
      const valid = planted.records.filter((r) => r.kind === 'normal' || r.kind === 'late-ok').length + planted.tooLate.size - (await lateIds()).size
      const rs = await ch.client.query({ query: 'SELECT (SELECT count() FROM behaviour_events) + (SELECT count() FROM order_events) + (SELECT count() FROM inventory_events) AS n', format: 'JSONEachRow' })
      const facts = Number((await rs.json<{ n: string }>())[0]?.n)
      if (facts !== valid) problems.push(`raw facts: ${facts} rows, ${valid} valid events`)
      // Data quality, exactly once: every record read, accepted, duplicate, too late and dead-lettered event counted once.
      const quality = await ch.client.query({ query: 'SELECT kind, sum(events) AS n FROM quality_minute GROUP BY kind', format: 'JSONEachRow' })
      const q = Object.fromEntries((await quality.json<{ kind: string; n: string }>()).map((r) => [r.kind, Number(r.n)]))
      const expected = { records: planted.records.length, dead_letter: planted.malformed, duplicate: planted.duplicates, accepted: valid }
      for (const [kind, n] of Object.entries(expected)) if (q[kind] !== n) problems.push(`quality ${kind}: ${q[kind]}, expected ${n}`)
      expect(problems, `data and worker logs in ${dataDir}`).toEqual([])
    } finally {
      await ch.close()
    }
    // Dead letters are at least once across crashes: every malformed record is there.
    const side = sideTopics(prefix)
    const deadCount = (await admin.fetchTopicOffsets(side.deadLetter)).reduce((n, o) => n + Number(o.high), 0)
    const dead = await consumeAll(kafka, [side.deadLetter], deadCount)
    const positions = new Set(dead.map((d) => `${d.headers?.['streamcube-source-topic']}/${d.headers?.['streamcube-source-partition']}/${d.headers?.['streamcube-source-offset']}`))
    expect(positions.size).toBe(planted.malformed)
  })
})

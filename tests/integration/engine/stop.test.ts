import type { Admin } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createWorker, EngineMetrics } from '../../../engine/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { brokers } from '../../services/kafka.js'
import { capturingLogger, caughtUp, committedTotal, engineConfig, engineSuite, produceRecords, RECENT_START, silent, transports, unreliableSockets, waitFor } from './harness.js'
import { runOracle } from './oracle.js'
import { plantedStream } from './planted.js'

/*
 * Issue 21: once a stop begins, no transport restarts or rejoins, and the stop ends within
 * STOP_TIMEOUT_MS whatever the broker does. What a stop could not commit, the next worker replays:
 * every test ends with a worker that reads to the end and cubes equal to the oracle.
 */

const STOP_TIMEOUT_MS = 6_000

async function members(admin: Admin, groupId: string): Promise<number> {
  const { groups } = await admin.describeGroups([groupId])
  return groups[0]?.members.length ?? 0
}

/** The group stays without members for `ms` (longer than kafkajs's restart delays): nobody rejoined. */
async function staysEmpty(admin: Admin, groupId: string, ms: number): Promise<void> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    expect(await members(admin, groupId), 'a member (re)joined the group after its stop').toBe(0)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** A seeded sequence in [0, 1): the stop points are random, and the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

describe.each(transports())('a stop always stops (%s): the broker gone during it', (client) => {
  const suite = engineSuite(`stops_${client}`)
  const { kafka, prefix, topics } = suite

  it('ends within STOP_TIMEOUT_MS when the broker connections close during it, never rejoins, and loses nothing', { timeout: 180_000 }, async () => {
    const { admin, ch } = suite
    const base = { KAFKA_CLIENT: client, STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS), KAFKA_SESSION_TIMEOUT_MS: '6000' }
    // Nothing flushes on its own: the stop has everything to flush.
    const config = engineConfig(prefix, { ...base, FLUSH_INTERVAL_MS: '3600000', FLUSH_MAX_RECORDS: '1000000', BUFFER_MAX_RECORDS: '1000000' })
    const planted = plantedStream({ events: 10_000, seed: 97, start: RECENT_START, allowedLatenessMs: config.engine.allowedLatenessMs })
    await produceRecords(kafka, prefix, planted.records, 6)
    const groupId = `stops-${prefix}`
    const sockets = unreliableSockets()
    const { log, lines } = capturingLogger('info')
    const worker = createWorker({ config, brokers: brokers(), pipelines: PIPELINES, groupId, ch, log, metrics: new EngineMetrics(), socketFactory: sockets.factory })
    const running = worker.run()
    running.catch(() => {})
    await Promise.race([waitFor('the worker to hold every record', async () => worker.stats().bufferedRecords === planted.records.length, 60_000, 50), running])

    const began = Date.now()
    const linesAtStop = lines.length
    const stopping = worker.stop()
    sockets.cut() // in the middle of the stop: the commits and the group's leave lose their connection
    const outcome = await stopping.then(
      () => 'stopped',
      (err: { code?: string }) => err.code ?? 'failed',
    )
    // Nothing could be committed or left: the stop gave up at its bound and said so.
    expect(outcome).toBe('ENGINE_STOP_TIMEOUT')
    const took = Date.now() - began
    expect(took, `the stop (${outcome}) took ${took} ms`).toBeLessThan(STOP_TIMEOUT_MS + 3_000)
    await expect(running.then(() => 'stopped', () => 'failed')).resolves.toBe(outcome === 'stopped' ? 'stopped' : 'failed')
    // The broker is back: whatever kafkajs still had scheduled must neither restart the consumer
    // nor rejoin. (The member the stop could not take out of the group expires with its session.)
    sockets.restore()
    await waitFor('the group to have no members', async () => (await members(admin, groupId)) === 0, 60_000)
    await staysEmpty(admin, groupId, 8_000)
    expect(lines.slice(linesAtStop).filter((l) => l.includes('"joined group"')), 'joined the group after the stop began').toEqual([])

    // The next worker replays what the stop did not commit: everything counted once.
    const next = createWorker({ config: engineConfig(prefix, base), brokers: brokers(), pipelines: PIPELINES, groupId, ch, log: silent, metrics: new EngineMetrics() })
    const nextRunning = next.run()
    nextRunning.catch(() => {})
    await Promise.race([waitFor('the next worker to commit every partition', () => caughtUp(admin, groupId, topics), 120_000), nextRunning])
    await next.stop()
    for (const [name, r] of Object.entries(await runOracle(ch))) expect(r.diff, `${name} differs from the oracle`).toBe(0)
  })

})

describe.each(transports())('a stop always stops (%s): at random points', (client) => {
  const suite = engineSuite(`stops_random_${client}`)
  const { kafka, prefix, topics } = suite

  it('stops begun at random points (while joining, reading, flushing) all end and leave the group empty; cubes stay exact', { timeout: 240_000 }, async () => {
    const { admin, ch } = suite
    const base = { KAFKA_CLIENT: client, STOP_TIMEOUT_MS: String(STOP_TIMEOUT_MS), FLUSH_INTERVAL_MS: '200' }
    const config = engineConfig(prefix, base)
    const planted = plantedStream({ events: 30_000, seed: 98, start: RECENT_START, allowedLatenessMs: config.engine.allowedLatenessMs })
    await produceRecords(kafka, prefix, planted.records, 6)
    const groupId = `stops-random-${prefix}`
    const random = seeded(client === 'kafkajs' ? 7 : 8)
    let done = false
    for (let i = 0; i < 6 && !done; i++) {
      const worker = createWorker({ config, brokers: brokers(), pipelines: PIPELINES, groupId, ch, log: silent, metrics: new EngineMetrics() })
      const running = worker.run()
      running.catch(() => {})
      // The stop point: right away (still joining), or once this run has taken a random share of what is left.
      const committed = await committedTotal(admin, groupId, topics)
      const target = i === 0 ? 0 : committed + Math.floor(random() * (planted.records.length - committed) * 0.6)
      if (target > 0) {
        await Promise.race([
          waitFor(`run ${i} to reach ${target} records`, async () => (await committedTotal(admin, groupId, topics)) + worker.stats().bufferedRecords >= target, 60_000, 20),
          running,
        ])
      }
      const began = Date.now()
      await worker.stop()
      await running
      expect(Date.now() - began, `stop ${i}`).toBeLessThan(STOP_TIMEOUT_MS)
      await waitFor(`the group to be empty after stop ${i}`, async () => (await members(admin, groupId)) === 0, 30_000)
      done = await caughtUp(admin, groupId, topics)
    }
    await staysEmpty(admin, groupId, 3_000)
    const last = createWorker({ config, brokers: brokers(), pipelines: PIPELINES, groupId, ch, log: silent, metrics: new EngineMetrics() })
    const lastRunning = last.run()
    lastRunning.catch(() => {})
    await Promise.race([waitFor('the last worker to commit every partition', () => caughtUp(admin, groupId, topics), 120_000), lastRunning])
    await last.stop()
    for (const [name, r] of Object.entries(await runOracle(ch))) expect(r.diff, `${name} differs from the oracle`).toBe(0)
  })
})

import { describe, expect, it } from 'vitest'
import { createWorker, EngineMetrics } from '../../../engine/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { loadConfig } from '../../../schemas/index.js'
import { brokers } from '../../services/kafka.js'
import { caughtUp, committedTotal, engineSuite, killableSockets, produceRecords, RECENT_START, silent, transports, waitFor } from './harness.js'
import { runOracle } from './oracle.js'
import { plantedStream } from './planted.js'

/*
 * Issue 21: a worker restarted after a kill -9 commits within 10 s, with default settings. kafkajs
 * has no static membership: the group waits for the dead member's session to expire before it
 * gives the restarted worker its partitions, so the default session timeout bounds the restart.
 * The kill is the in-process equivalent of a SIGKILL: every connection cut at once, nothing
 * flushed, committed or left (as in the crash tests).
 */

describe.each(transports())('restart after a kill -9 (%s)', (client) => {
  const suite = engineSuite(`restart_${client}`)
  const { kafka, prefix, topics } = suite

  it('the restarted worker commits its first offsets within 10 s, with default settings; cubes exact', { timeout: 120_000 }, async () => {
    const { admin, ch } = suite
    // Default settings: only the topics' prefix and the transport are set.
    const config = loadConfig({ KAFKA_TOPIC_PREFIX: prefix, KAFKA_CLIENT: client, LOG_LEVEL: 'warn' })
    const planted = plantedStream({ events: 8_000, seed: 61, start: RECENT_START, allowedLatenessMs: config.engine.allowedLatenessMs })
    const half = Math.floor(planted.records.length / 2)
    await produceRecords(kafka, prefix, planted.records.slice(0, half), 6)
    const groupId = `restart-${prefix}`
    const sockets = killableSockets()
    const first = createWorker({ config, brokers: brokers(), pipelines: PIPELINES, groupId, ch, log: silent, metrics: new EngineMetrics(), socketFactory: sockets.factory })
    const firstRunning = first.run()
    firstRunning.catch(() => {})
    await Promise.race([waitFor('the first worker to commit every partition', () => caughtUp(admin, groupId, topics), 120_000), firstRunning])
    const before = await committedTotal(admin, groupId, topics)

    const killedAt = Date.now()
    first.crash()
    sockets.kill()
    const restarted = createWorker({ config, brokers: brokers(), pipelines: PIPELINES, groupId, ch, log: silent, metrics: new EngineMetrics() })
    const running = restarted.run()
    running.catch(() => {})
    await produceRecords(kafka, prefix, planted.records.slice(half), 6)
    await Promise.race([waitFor('the restarted worker to commit', async () => (await committedTotal(admin, groupId, topics)) > before, 60_000, 50), running])
    const seconds = (Date.now() - killedAt) / 1000
    expect(seconds, `first commit ${seconds.toFixed(1)} s after the kill (session timeout ${config.engine.sessionTimeoutMs} ms)`).toBeLessThanOrEqual(10)

    await Promise.race([waitFor('the restarted worker to commit every partition', () => caughtUp(admin, groupId, topics), 120_000), running])
    await restarted.stop()
    for (const [name, r] of Object.entries(await runOracle(ch))) expect(r.diff, `${name} differs from the oracle`).toBe(0)
  })
})

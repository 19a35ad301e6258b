import { connect, type Socket } from 'node:net'
import type { Admin, ISocketFactory, Kafka } from 'kafkajs'
import { CompressionTypes } from 'kafkajs'
import { pino } from 'pino'
import { afterAll, beforeAll } from 'vitest'
import { migrate, type ClickHouse } from '../../../sinks/index.js'
import { openTestClickHouse } from '../../services/clickhouse.js'
import { deleteTopics, randomPrefix, testKafka } from '../../services/kafka.js'
import { EVENT_TYPES, loadConfig, type Config } from '../../../schemas/index.js'
import { decodeCheckpoint, loadRdkafka } from '../../../engine/index.js'
import { topicOf, type PlantedRecord } from './planted.js'

/** Produces planted records in order, keyed, one batch in flight (so per-key order holds). */
export async function produceRecords(kafka: Kafka, prefix: string, records: readonly PlantedRecord[], partitions: number): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ waitForLeaders: true, topics: EVENT_TYPES.map((t) => ({ topic: topicOf(prefix, t), numPartitions: partitions })) })
  await admin.disconnect()
  const producer = kafka.producer({ maxInFlightRequests: 1 })
  await producer.connect()
  for (let i = 0; i < records.length; i += 5000) {
    const byTopic = new Map<string, { key: string; value: Buffer }[]>()
    for (const r of records.slice(i, i + 5000)) {
      const t = topicOf(prefix, r.type)
      byTopic.set(t, [...(byTopic.get(t) ?? []), { key: r.key, value: r.value }])
    }
    await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) })
  }
  await producer.disconnect()
}

/** True when the group has committed every partition up to its end, with no flush pending. */
export async function caughtUp(admin: Admin, groupId: string, topics: readonly string[]): Promise<boolean> {
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic)
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    for (const end of ends) {
      const c = committed?.partitions.find((p) => p.partition === end.partition)
      if (end.high === '0') continue
      if (!c || c.offset !== end.high) return false
      if (decodeCheckpoint(c.metadata)?.pending) return false
    }
  }
  return true
}

const DAY = 86_400_000
/** Two days ago at 00:00 in Hangzhou: recent enough for every TTL and for the future-time bound. */
export const RECENT_START = Math.floor((Date.now() - 2 * DAY + 8 * 3_600_000) / DAY) * DAY - 8 * 3_600_000

/** The sum of a group's committed offsets over some topics (progress, for tests that interrupt it). */
export async function committedTotal(admin: Admin, groupId: string, topics: readonly string[]): Promise<number> {
  let n = 0
  for (const topic of topics) {
    const [o] = await admin.fetchOffsets({ groupId, topics: [topic] }).catch(() => [undefined])
    for (const p of o?.partitions ?? []) if (p.offset !== '-1') n += Number(p.offset)
  }
  return n
}

/** Polls a condition until it holds (no fixed sleeps), failing after `timeoutMs`. */
export async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 120_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      if (await condition()) return
    } catch (err) {
      // Transient broker answers (a coordinator still loading) count as "not yet".
      lastError = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** Engine configuration for tests: fast flushes, the given prefix. */
export function engineConfig(prefix: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({ KAFKA_TOPIC_PREFIX: prefix, FLUSH_INTERVAL_MS: '300', FLUSH_MAX_RECORDS: '20000', LOG_LEVEL: 'warn', ...overrides })
}

export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })

/** Counts records on a topic (by reading offsets). */
export async function topicCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic)
  return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0)
}

/** What an engine test's describe block shares: a broker prefix, an admin client and a migrated database. */
export interface EngineSuite {
  readonly kafka: Kafka
  readonly prefix: string
  /** The topics of the three streams under the prefix (behaviour, order, inventory). */
  readonly topics: readonly string[]
  /** Connected in beforeAll: read it inside tests. */
  readonly admin: Admin
  readonly ch: ClickHouse & { drop(): Promise<void> }
}

/** Sets up (beforeAll) and tears down (afterAll: topics, admin, database) an engine test's services. */
export function engineSuite(name: string): EngineSuite {
  const kafka = testKafka()
  const prefix = randomPrefix(name)
  const suite = { kafka, prefix, topics: EVENT_TYPES.map((t) => topicOf(prefix, t)) } as unknown as { -readonly [K in keyof EngineSuite]: EngineSuite[K] }
  beforeAll(async () => {
    suite.admin = kafka.admin()
    await suite.admin.connect()
    suite.ch = await openTestClickHouse(name)
    await migrate(suite.ch)
  })
  afterAll(async () => {
    await deleteTopics(suite.admin, suite.prefix)
    await suite.admin.disconnect()
    await suite.ch.drop()
  })
  return suite
}

/**
 * The Kafka transports to run a test over: kafkajs, and rdkafka where node-rdkafka (an optional
 * dependency) built. Under CI it must have: a CI run that cannot load it fails, never skips.
 */
export function transports(): ('kafkajs' | 'rdkafka')[] {
  try {
    loadRdkafka()
    return ['kafkajs', 'rdkafka']
  } catch (err) {
    if (process.env.CI === 'true') throw err
    console.warn(`rdkafka transport not tested here: ${(err as Error).message}`)
    return ['kafkajs']
  }
}

/** Sockets that can all be cut at once, and refuse to reconnect after: a process that died. */
export function killableSockets(): { factory: ISocketFactory; kill(): void } {
  const { factory, cut } = unreliableSockets()
  return { factory, kill: cut }
}

/**
 * Sockets that can be cut and refused, then allowed again (`restore`): a broker that dropped us
 * and came back.
 */
export function unreliableSockets(): { factory: ISocketFactory; cut(): void; restore(): void } {
  const sockets = new Set<Socket>()
  let refused = false
  return {
    factory: ({ host, port, onConnect }) => {
      const socket = connect({ host, port }, onConnect)
      if (refused) setImmediate(() => socket.destroy(new Error('connection refused (test)')))
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      return socket
    },
    cut: () => {
      refused = true
      for (const s of sockets) s.destroy()
    },
    restore: () => {
      refused = false
    },
  }
}

/** Puts checkpoints on record for a group, as a worker that died inside a flush leaves them. */
export async function commitCheckpoint(kafka: Kafka, groupId: string, topic: string, commits: readonly { partition: number; offset: string; metadata: string }[]): Promise<void> {
  const consumer = kafka.consumer({ groupId })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  let done!: () => void
  const committed = new Promise<void>((resolve) => (done = resolve))
  await consumer.run({
    autoCommit: false,
    eachBatch: async () => {
      await consumer.commitOffsets(commits.map((c) => ({ topic, ...c })))
      done()
    },
  })
  await committed
  await consumer.disconnect()
}

/** A logger at `level` whose JSON lines are kept in `lines` (to check what a worker logs). */
export function capturingLogger(level = 'trace'): { log: pino.Logger; lines: string[] } {
  const lines: string[] = []
  return { log: pino({ level }, { write: (line: string) => void lines.push(line) }), lines }
}

/** The keys that occur more than once at the top level of a JSON object's text (JSON.parse would hide them). */
export function duplicateKeys(json: string): string[] {
  const seen = new Set<string>()
  const twice = new Set<string>()
  let depth = 0
  for (let i = 0; i < json.length; i++) {
    const c = json[i]
    if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') depth--
    else if (c === '"') {
      let j = i + 1
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1
      const text = json.slice(i + 1, j)
      let k = j + 1
      while (json[k] === ' ') k++
      if (depth === 1 && json[k] === ':') (seen.has(text) ? twice : seen).add(text)
      i = j
    }
  }
  return [...twice]
}

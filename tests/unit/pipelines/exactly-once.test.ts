import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { DEFAULT_EVENT_TIME_POLICY, FlushExecutor, PartitionRecovery, pipelineSetId, type CommittedOffset, type FlushPlan, type MemberCommit, type OffsetLog, type PartitionProcessor, type SourceRecord } from '../../../engine/index.js'
import { EventGenerator } from '../../../generator/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { createJsonCodec, jsonEncoder, type EventType } from '../../../schemas/index.js'
import type { ClickHouse, RawInsert } from '../../../sinks/index.js'
import { BOUNDS, START } from '../fixtures.js'

/*
 * The exactly-once protocol (FlushExecutor: commit pending → write → commit done; PartitionRecovery:
 * open from the offset log, replay a pending range or rebuild a pending group) driven through a
 * crash at every point, against a fake offset log and a fake engine that keeps one block per
 * deduplication token, as ClickHouse's deduplication window does. After every crash a new worker
 * (new executor, new recovery: nothing remembered) takes over from the log; at the end every
 * accepted event must have landed exactly once, and every record been counted once.
 */

const silent = pino({ level: 'silent' })
const SET = pipelineSetId(PIPELINES)
const codecs = { behaviour: createJsonCodec('behaviour', { bounds: BOUNDS }), order: createJsonCodec('order', { bounds: BOUNDS }), inventory: createJsonCodec('inventory', { bounds: BOUNDS }) }

/** Generated behaviour and order records, each topic's in offset order, with a few sent twice. */
function topicsOf(events: number): Map<string, { type: EventType; partitions: SourceRecord[][] }> {
  const out = new Map<string, { type: EventType; partitions: SourceRecord[][] }>()
  for (const type of ['behaviour', 'order'] as const) out.set(`t.${type}`, { type, partitions: [[], []] })
  let i = 0
  for (const r of new EventGenerator({ seed: 9, start: START }).take(events)) {
    if (r.type === 'inventory') continue
    const list = out.get(`t.${r.type}`)!.partitions[i++ % 2]!
    const value = jsonEncoder.encode(r.event)
    list.push({ offset: String(list.length), key: Buffer.from(r.key), value, headers: {}, timestamp: String(START) })
    if (i % 40 === 0) list.push({ offset: String(list.length), key: Buffer.from(r.key), value, headers: {}, timestamp: String(START) })
  }
  return out
}

class FakeOffsetLog implements OffsetLog {
  readonly entries = new Map<string, CommittedOffset>()
  commits = 0
  /** Throws instead of committing at this commit call (1-based), once. */
  crashAtCommit = 0

  async committed(topic: string): Promise<Map<number, CommittedOffset>> {
    const out = new Map<number, CommittedOffset>()
    for (const [key, value] of this.entries) if (key.startsWith(`${topic}:`)) out.set(Number(key.slice(topic.length + 1)), value)
    return out
  }

  async commit(commits: readonly MemberCommit[]): Promise<void> {
    if (++this.commits === this.crashAtCommit) throw crash('commit')
    for (const c of commits) this.entries.set(`${c.topic}:${c.partition}`, { offset: c.offset, metadata: c.metadata })
  }
}

/** Keeps the first block of every token, drops the rest (ClickHouse's deduplication window). */
class FakeEngine {
  readonly blocks = new Map<string, { table: string; text: string }>()
  inserts = 0
  /** Throws instead of inserting at this insert (1-based), once. */
  crashAtInsert = 0
  /** false: a block is kept even when its token is known (an engine without deduplication). */
  dedup = true

  connection(): ClickHouse {
    const rawInsert: RawInsert = async ({ table, values, settings }) => {
      if (++this.inserts === this.crashAtInsert) throw crash('insert')
      const token = String(settings.insert_deduplication_token)
      expect(token).not.toBe('')
      if (!this.blocks.has(token)) this.blocks.set(token, { table, text: values.toString() })
      else if (!this.dedup) this.blocks.set(`${token}#${this.inserts}`, { table, text: values.toString() })
    }
    return { kind: 'embedded', database: 'fake', rawInsert, client: null as never, close: async () => {} }
  }

  /** The event ids in the stream tables' blocks, and the quality counts by kind. */
  landed(): { eventIds: string[]; quality: Record<string, number> } {
    const eventIds: string[] = []
    const quality: Record<string, number> = {}
    for (const { table, text } of this.blocks.values()) {
      const rows = JSON.parse(`[${text.trim().replace(/\n/g, ',')}]`) as unknown[]
      if (table.endsWith('_stream')) for (const r of rows as unknown[][]) eventIds.push(String(r[0]))
      else for (const r of rows as unknown[][]) quality[String(r[3])] = (quality[String(r[3])] ?? 0) + Number(r[5])
    }
    return { eventIds, quality }
  }
}

const crash = (where: string) => new Error(`crash in ${where}`)
/** The worker dies at its first failure: a killed process retries nothing. */
const NO_RETRY = { initialMs: 1, maxMs: 1, factor: 1, maxElapsedMs: -1 }

/** A worker over the fake log and engine: opens its partitions from the log, flushes every `every` records. */
function worker(log: FakeOffsetLog, engine: FakeEngine, topics: ReturnType<typeof topicsOf>) {
  const executor = new FlushExecutor({ ch: engine.connection(), forwarder: null, pipelineSet: SET, log: silent, retry: NO_RETRY })
  const recovery = new PartitionRecovery({
    groupId: 'g',
    setId: SET,
    pipelines: PIPELINES,
    sources: new Map([...topics].map(([t, v]) => [t, { type: v.type, codec: codecs[v.type] }])),
    policy: DEFAULT_EVENT_TIME_POLICY,
    offsets: log,
    executor,
    replay: async (ranges, onRecord) => {
      for (const range of ranges) for (const r of topics.get(range.topic)!.partitions[range.partition]!.slice(Number(range.from), Number(range.to) + 1)) onRecord(range, r)
    },
    log: silent,
  })
  return {
    /** Runs every partition to its end, flushing alone every `every` records or as one group of all partitions. */
    async run(every: number, grouped: boolean): Promise<void> {
      const open: { topic: string; partition: number; proc: PartitionProcessor; next: number }[] = []
      for (const [topic, t] of topics) {
        for (let partition = 0; partition < t.partitions.length; partition++) {
          const opened = await recovery.open(topic, partition)
          if (!opened) throw new Error('a pending group was left to another owner')
          open.push({ topic, partition, proc: opened.proc, next: Number(opened.start ?? 0n) })
        }
      }
      for (;;) {
        let progressed = false
        const plans: FlushPlan[] = []
        for (const p of open) {
          const records = topics.get(p.topic)!.partitions[p.partition]!
          for (let n = 0; n < every && p.next < records.length; n++) {
            p.proc.handle(records[p.next++]!)
            progressed = true
            // A replayed pending range flushes alone, exactly as first planned.
            if (p.proc.pendingComplete) await flushAlone(p.proc.takeFlush())
          }
          const plan = p.proc.takeFlush()
          if (plan) plans.push(plan)
        }
        if (grouped && plans.length > 1) await executor.executeGroup(plans, (commits) => log.commit(commits))
        else for (const plan of plans) await flushAlone(plan)
        if (!progressed) return
      }
    },
  }

  async function flushAlone(plan: FlushPlan | null): Promise<void> {
    if (!plan) return
    const executor = new FlushExecutor({ ch: engine.connection(), forwarder: null, pipelineSet: SET, log: silent, retry: NO_RETRY })
    await executor.execute(plan, (topic, partition, offset, metadata) => log.commit([{ topic, partition, offset, metadata }]))
  }
}

/** Runs to the end with one crash at the given insert or commit, then a new worker takes over. */
async function runWithCrash(crashAt: { insert?: number; commit?: number }, grouped: boolean) {
  const topics = topicsOf(3000)
  const log = new FakeOffsetLog()
  const engine = new FakeEngine()
  engine.crashAtInsert = crashAt.insert ?? 0
  log.crashAtCommit = crashAt.commit ?? 0
  let crashed = false
  try {
    await worker(log, engine, topics).run(250, grouped)
  } catch (err) {
    expect((err as Error).message).toMatch(/crash in/)
    crashed = true
  }
  await worker(log, engine, topics).run(250, grouped)
  const all = [...topics.values()].flatMap((t) => t.partitions.flat())
  const distinct = new Set(all.map((r) => JSON.parse(r.value!.toString()).eventId as string))
  return { crashed, landed: engine.landed(), records: all.length, distinct }
}

describe('the exactly-once protocol, crashed at every point (fake offset log, fake engine)', () => {
  // A flush alone: commit pending (1), insert stream rows (1), insert quality (2), commit done (2).
  for (const [name, at] of [
    ['before the pending commit lands', { commit: 3 }],
    ['after the pending commit, before any insert', { insert: 3 }],
    ['after the stream rows landed, before the quality counts', { insert: 4 }],
    ['after every insert, before the commit of the range', { commit: 4 }],
    ['with nothing to crash (the baseline)', {}],
  ] as const) {
    it(`a flush of one partition, crashed ${name}: every event lands once, every record is counted once`, async () => {
      const r = await runWithCrash(at, false)
      expect(r.crashed).toBe(Object.keys(at).length > 0)
      expect(r.landed.eventIds.length).toBe(r.distinct.size)
      expect(new Set(r.landed.eventIds)).toEqual(r.distinct)
      expect(r.landed.quality.records).toBe(r.records)
      expect(r.landed.quality.duplicate).toBe(r.records - r.distinct.size)
    })
  }

  for (const [name, at] of [
    // A group flush: commit pending (1), insert behaviour_stream, order_stream, quality (1-3), commit done (2).
    ['before the group\'s pending commit lands', { commit: 1 }],
    ['after the group\'s pending commit, before any insert', { insert: 1 }],
    ['after one of the group\'s tables landed', { insert: 2 }],
    ['after the stream tables landed, before the quality counts', { insert: 3 }],
    ['after every insert, before the group\'s commit', { commit: 2 }],
  ] as const) {
    it(`a group flush of four partitions, crashed ${name}: the new owner rebuilds the whole group; every event lands once`, async () => {
      const r = await runWithCrash(at, true)
      expect(r.crashed).toBe(true)
      expect(r.landed.eventIds.length).toBe(r.distinct.size)
      expect(new Set(r.landed.eventIds)).toEqual(r.distinct)
      expect(r.landed.quality.records).toBe(r.records)
    })
  }

  it('a replay that the engine did not deduplicate would count twice (the checks can fail)', async () => {
    const topics = topicsOf(3000)
    const log = new FakeOffsetLog()
    const engine = new FakeEngine()
    engine.crashAtInsert = 4
    await worker(log, engine, topics).run(250, false).catch(() => {})
    engine.dedup = false
    await worker(log, engine, topics).run(250, false)
    const all = [...topics.values()].flatMap((t) => t.partitions.flat())
    const distinct = new Set(all.map((r) => JSON.parse(r.value!.toString()).eventId as string))
    expect(engine.landed().eventIds.length).toBeGreaterThan(distinct.size)
  })
})

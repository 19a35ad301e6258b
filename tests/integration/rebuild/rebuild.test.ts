import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventGenerator, runGeneratorSource } from '../../../generator/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { rebuildCube, REBUILDABLE } from '../../../jobs/index.js'
import { JobError } from '../../../jobs/index.js'
import { eventFromRawFact, migrate, RAW_FACT_SELECT, RAW_TABLES, type ClickHouse } from '../../../sinks/index.js'
import { EVENT_TYPES } from '../../../schemas/index.js'
import { openTestClickHouse } from '../../services/clickhouse.js'
import { RECENT_START, silent } from '../engine/harness.js'
import { runOracle } from '../engine/oracle.js'

const DAY = 86_400_000
const EVENTS = 40_000

/** Every cube table read back finalized and sorted, for exact before/after comparison. */
async function snapshot(ch: ClickHouse, table: string): Promise<string> {
  const cols = await (await ch.client.query({ query: 'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String} ORDER BY position', query_params: { t: table }, format: 'JSONEachRow' })).json<{ name: string; type: string }>()
  const exprs = cols.map((c) => (c.type.startsWith('AggregateFunction') ? `finalizeAggregation(${c.name}) AS ${c.name}` : c.name))
  const rs = await ch.client.query({ query: `SELECT ${exprs.join(', ')} FROM ${table} FINAL ORDER BY ALL`, format: 'JSONEachRow' })
  return JSON.stringify(await rs.json())
}

describe('streamcube rebuild', () => {
  let ch: ClickHouse & { drop(): Promise<void> }
  let filledUntil = 0

  beforeAll(async () => {
    ch = await openTestClickHouse('rebuild')
    await migrate(ch)
    const generator = new EventGenerator({ seed: 11, start: RECENT_START })
    const records = generator.take(EVENTS)
    filledUntil = records.at(-1)!.event.event.eventTime
    let i = 0
    const abort = new AbortController()
    const replay = { next: () => {
      if (i === records.length - 1) abort.abort()
      return records[Math.min(i++, records.length - 1)]!
    } } as unknown as EventGenerator
    await runGeneratorSource({ generator: replay, pipelines: PIPELINES, ch, log: silent, signal: abort.signal, intervalMs: 1, now: () => Number.MAX_SAFE_INTEGER })
  }, 120_000)

  afterAll(async () => {
    await ch?.drop()
  })

  it('recomputes a corrupted day of every cube exactly, rollups included, and leaves other days alone', async () => {
    const day = RECENT_START + 8 * 3_600_000 // a UTC midnight inside the data
    expect(filledUntil).toBeGreaterThan(day + 3_600_000) // data inside the rebuilt day, and before it (left alone)
    const tables = REBUILDABLE.flatMap((c) => [c.minute, ...c.rollups])
    const before = new Map<string, string>()
    for (const t of tables) before.set(t, await snapshot(ch, t))

    // Corrupt the day: drop part of every minute table's rows, and double another part.
    for (const c of REBUILDABLE) {
      await ch.client.command({ query: `ALTER TABLE ${c.minute} DELETE WHERE window_start >= toDateTime({a:UInt32}) AND window_start < toDateTime({b:UInt32}) AND toMinute(window_start) % 3 = 0`, query_params: { a: day / 1000, b: (day + DAY) / 1000 }, clickhouse_settings: { mutations_sync: '2' } })
      await ch.client.command({ query: `INSERT INTO ${c.minute} SELECT * FROM ${c.minute} WHERE window_start >= toDateTime({a:UInt32}) AND window_start < toDateTime({b:UInt32}) AND toMinute(window_start) % 3 = 1 SETTINGS insert_deduplicate = 0`, query_params: { a: day / 1000, b: (day + DAY) / 1000 } })
      // (complaints are rare: a short run may have none to corrupt)
      if (before.get(c.minute) !== '[]' || c.name !== 'complaints') expect(await snapshot(ch, c.minute), c.minute).not.toBe(before.get(c.minute))
    }

    for (const c of REBUILDABLE) {
      const r = await rebuildCube({ ch, cube: c.name, from: day + 3_600_000, to: day + 2 * 3_600_000, closedBefore: Date.now(), log: silent })
      expect(r.from).toBe(day) // widened to the whole UTC day
      expect(r.to).toBe(day + DAY)
      expect(r.events, c.name).toBeGreaterThan(0)
    }
    for (const t of tables) expect(await snapshot(ch, t), t).toBe(before.get(t))
    const oracle = await runOracle(ch)
    for (const [name, r] of Object.entries(oracle)) expect(r.diff, name).toBe(0)
  }, 180_000)

  it('reads raw facts back as the very events they were made from', async () => {
    const byId = new Map(new EventGenerator({ seed: 11, start: RECENT_START }).take(EVENTS).map((r) => [r.event.event.eventId, r.event]))
    for (const type of EVENT_TYPES) {
      const rs = await ch.client.query({ query: `SELECT ${RAW_FACT_SELECT[type]} FROM ${RAW_TABLES[type]} ORDER BY event_id LIMIT 2000`, format: 'JSONEachRow' })
      const rows = await rs.json<Record<string, unknown>>()
      expect(rows.length, type).toBeGreaterThan(0)
      for (const row of rows) {
        const e = eventFromRawFact(type, row)
        expect(e, e.event.eventId).toEqual(byId.get(e.event.eventId))
      }
    }
  })

  it('refuses an unknown cube, an empty range and a range live pipelines may still write', async () => {
    const args = { ch, from: RECENT_START, to: RECENT_START + DAY, closedBefore: Date.now(), log: silent }
    await expect(rebuildCube({ ...args, cube: 'nope' })).rejects.toMatchObject({ code: 'JOB_UNKNOWN_CUBE' })
    await expect(rebuildCube({ ...args, cube: 'gmv', to: RECENT_START })).rejects.toMatchObject({ code: 'JOB_INVALID_RANGE' })
    const err = await rebuildCube({ ...args, cube: 'gmv', closedBefore: RECENT_START }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(JobError)
    expect((err as Error).message).toMatch(/--force/)
  })
})

import { describe, expect, it } from 'vitest'
import { previousStart } from '../../../api/reports/sales.js'
import { CubeRange, GMV_CUBE, cubeRange, splitByGrain } from '../../../queries/index.js'

const MIN = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
const T = Date.UTC(2026, 10, 2) // a UTC midnight

/** Every minute bucket start in [from, to) that a split's spans cover, each once. */
function minutesCovered(spans: ReturnType<typeof splitByGrain>): number[] {
  const out: number[] = []
  for (const [g, list] of Object.entries(spans)) {
    const size = g === 'minute' ? MIN : g === 'hour' ? HOUR : DAY
    for (const [a, b] of list) {
      // A bucket of the grain counts when its start lies in [a, b): all of its minutes are read.
      for (let s = Math.ceil(a / size) * size; s < b; s += size) for (let m = s; m < s + size; m += MIN) out.push(m)
    }
  }
  return out.sort((x, y) => x - y)
}

describe('splitByGrain: the coarsest buckets that cover a range exactly', () => {
  it('a range off the hour across days: minutes at the edges, hours around whole days, days between', () => {
    const from = T + 10 * HOUR + 7 * MIN
    const to = T + 2 * DAY + 10 * HOUR + 33 * MIN
    expect(splitByGrain(from, to, 'day')).toEqual({
      minute: [[from, T + 11 * HOUR], [T + 2 * DAY + 10 * HOUR, to]],
      hour: [[T + 11 * HOUR, T + DAY], [T + 2 * DAY, T + 2 * DAY + 10 * HOUR]],
      day: [[T + DAY, T + 2 * DAY]],
    })
  })

  it('never reads a grain coarser than asked, and reads minutes alone inside one hour', () => {
    const from = T + 10 * HOUR + 7 * MIN
    const to = T + 2 * DAY + 10 * HOUR + 33 * MIN
    expect(splitByGrain(from, to, 'hour').day).toEqual([])
    expect(splitByGrain(from, to, 'minute')).toEqual({ minute: [[from, to]], hour: [], day: [] })
    expect(splitByGrain(T + 7 * MIN, T + 50 * MIN, 'day')).toEqual({ minute: [[T + 7 * MIN, T + 50 * MIN]], hour: [], day: [] })
    expect(splitByGrain(T, T + DAY, 'day')).toEqual({ minute: [], hour: [], day: [[T, T + DAY]] })
  })

  it('covers exactly the minute buckets a minute-cube read of the range would, for ranges of every shape', () => {
    let seed = 7
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
    for (let i = 0; i < 300; i++) {
      const from = T + rnd(3 * DAY) + (rnd(2) ? 0 : rnd(MIN))
      const to = from + rnd(4 * DAY) + 1
      for (const coarsest of ['minute', 'hour', 'day'] as const) {
        const expected: number[] = []
        for (let m = Math.ceil(from / MIN) * MIN; m < to; m += MIN) expected.push(m)
        expect(minutesCovered(splitByGrain(from, to, coarsest))).toEqual(expected)
      }
    }
  })
})

describe('CubeRange: the table, or the union of tables, a report reads', () => {
  const later = T + 40 * DAY // the range is older than the minute cubes' 30 days
  const soon = T + 3 * DAY // within them

  it('within the minute cubes\' retention: one table, the coarsest grain every cut falls on', () => {
    expect(cubeRange(GMV_CUBE, T + 7 * MIN, T + 2 * DAY + 33 * MIN, 'day', { now: soon }).sql('table')).toEqual({ sql: 'gmv_minute', params: {} })
    expect(cubeRange(GMV_CUBE, T + HOUR, T + 2 * DAY, 'day', { now: soon }).tables).toBe('gmv_hour')
    expect(cubeRange(GMV_CUBE, T, T + 2 * DAY, 'day', { now: soon }).tables).toBe('gmv_day')
    expect(cubeRange(GMV_CUBE, T, T + 2 * DAY, 'hour', { now: soon }).tables).toBe('gmv_hour')
    expect(new CubeRange(GMV_CUBE, [T - DAY, T + HOUR, T + 2 * DAY], 'day', { now: soon }).tables).toBe('gmv_hour')
  })

  it('composes a recent range too when asked (a report whose cost is its rows)', () => {
    expect(cubeRange(GMV_CUBE, T + 7 * MIN, T + 2 * DAY + 33 * MIN, 'day', { now: soon, compose: true }).tables).toBe('gmv_day+gmv_hour+gmv_minute')
  })

  it('older: composed, its bounds bound as parameters, one SQL text for ranges of different shapes', () => {
    const a = cubeRange(GMV_CUBE, T + 7 * MIN, T + 2 * DAY + 33 * MIN, 'day', { now: later }).sql('table')
    const b = cubeRange(GMV_CUBE, T, T + DAY, 'day', { now: later }).sql('table')
    expect(a.sql).toBe(b.sql)
    expect(a.sql).toContain('FROM gmv_minute')
    expect(a.sql).not.toMatch(/\d{9}/) // no instant in the text
    expect(Object.values(b.params).filter((v) => v !== 0)).toEqual([T / 1000, (T + DAY) / 1000])
  })

  it('older: names the tables that hold rows of the range, coarsest first', () => {
    expect(cubeRange(GMV_CUBE, T + 7 * MIN, T + 2 * DAY + 33 * MIN, 'day', { now: later }).tables).toBe('gmv_day+gmv_hour+gmv_minute')
    expect(cubeRange(GMV_CUBE, T + HOUR, T + 7 * HOUR, 'day', { now: later }).tables).toBe('gmv_hour')
    expect(cubeRange(GMV_CUBE, T + HOUR, T + 7 * HOUR, 'minute', { now: later }).tables).toBe('gmv_minute')
  })

  it('cuts at every given point: no rollup bucket straddles a report\'s two periods', () => {
    const prev = T - 10 * HOUR
    const from = T + 14 * HOUR
    const range = new CubeRange(GMV_CUBE, [prev, from, T + 2 * DAY + 14 * HOUR], 'day', { now: later })
    const { params } = range.sql('p')
    const dayStarts = Object.entries(params).filter(([k, v]) => /_d\d+_f$/.test(k) && v > 0).map(([, v]) => v * 1000)
    // The day T + DAY lies wholly inside the current period; the day T straddles `from`: read as hours.
    expect(dayStarts).toEqual([T + DAY])
  })
})

/** The spans a CubeRange's parameters bind, by grain (what its union reads). */
function boundSpans(range: CubeRange): ReturnType<typeof splitByGrain> {
  const { params } = range.sql('p')
  const out: ReturnType<typeof splitByGrain> = { minute: [], hour: [], day: [] }
  const grains = { m: 'minute', h: 'hour', d: 'day' } as const
  for (const [key, f] of Object.entries(params)) {
    const m = /^p_([mhd])(\d+)_f$/.exec(key)
    if (m && f > 0) out[grains[m[1] as 'm' | 'h' | 'd']].push([f * 1000, (params[`p_${m[1]}${m[2]}_t`] as number) * 1000])
  }
  return out
}

describe('CubeRange across the retention horizon: composed before it, one grain after', () => {
  it('reads the part before the horizon from rollups and minute edges, the rest as one table would', () => {
    const now = T + 31 * DAY // the horizon: T + 1 day
    const from = T + 7 * MIN
    const to = T + 3 * DAY + 33 * MIN
    const range = cubeRange(GMV_CUBE, from, to, 'day', { now: now })
    expect(range.tables).toBe('gmv_hour+gmv_minute')
    expect(boundSpans(range)).toEqual({ minute: [[from, T + HOUR], [T + DAY, to]], hour: [[T + HOUR, T + DAY]], day: [] })
  })

  it('covers exactly the minute buckets of the range, wherever the horizon falls', () => {
    let seed = 11
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
    for (let i = 0; i < 200; i++) {
      const from = T + rnd(3 * DAY)
      const to = from + rnd(5 * DAY) + MIN
      const now = T + 30 * DAY + rnd(6 * DAY)
      const cut = from + rnd(to - from)
      const expected: number[] = []
      for (let m = Math.ceil(from / MIN) * MIN; m < to; m += MIN) expected.push(m)
      const range = new CubeRange(GMV_CUBE, [from, cut, to], 'day', { now: now })
      if (range.single) continue
      expect(minutesCovered(boundSpans(range))).toEqual(expected)
    }
  })
})

describe('previousStart: a previous period the minute cubes no longer hold at its start', () => {
  const now = T + 60 * DAY
  it('keeps a start on the hour, or one within the minute cubes\' 30 days', () => {
    expect(previousStart(T + 5 * HOUR, now)).toBe(T + 5 * HOUR)
    expect(previousStart(now - 2 * DAY + 7 * MIN, now)).toBe(now - 2 * DAY + 7 * MIN)
  })
  it('moves an older start off the hour to the next hour (the response names it)', () => {
    expect(previousStart(T + 5 * HOUR + 7 * MIN, now)).toBe(T + 6 * HOUR)
  })
})

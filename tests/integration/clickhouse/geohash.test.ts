import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventGenerator } from '../../../generator/index.js'
import { geohash } from '../../../queries/index.js'
import type { BehaviourEvent, OrderEvent } from '../../../schemas/index.js'
import type { ClickHouse } from '../../../sinks/index.js'
import { openTestClickHouse } from '../../services/clickhouse.js'

describe("the heatmap's geohash agrees with ClickHouse's geohashEncode(lon, lat, precision)", () => {
  let ch: ClickHouse & { drop(): Promise<void> }
  beforeAll(async () => (ch = await openTestClickHouse('geo')))
  afterAll(async () => ch.drop())

  it('on every point of generated orders and located behaviour, at precisions 5-7', async () => {
    const points: [number, number][] = []
    for (const r of new EventGenerator({ seed: 21, start: Date.UTC(2026, 10, 18, 16) }).take(20_000)) {
      if (r.type === 'order') points.push([(r.event.event as OrderEvent).deliveryLat, (r.event.event as OrderEvent).deliveryLon])
      else if (r.type === 'behaviour' && (r.event.event as BehaviourEvent).lat !== null) points.push([(r.event.event as BehaviourEvent).lat!, (r.event.event as BehaviourEvent).lon!])
    }
    const rs = await ch.client.query({
      query: 'SELECT lat, lon, geohashEncode(lon, lat, 5) g5, geohashEncode(lon, lat, 6) g6, geohashEncode(lon, lat, 7) g7 FROM (SELECT arrayJoin(arrayZip({lats:Array(Float64)}, {lons:Array(Float64)})) AS p, p.1 AS lat, p.2 AS lon)',
      query_params: { lats: points.map((p) => p[0]), lons: points.map((p) => p[1]) },
      format: 'JSONEachRow',
    })
    const rows = await rs.json<{ lat: number; lon: number; g5: string; g6: string; g7: string }>()
    expect(rows).toHaveLength(points.length)
    const mismatches = rows.filter((r) => geohash(r.lat, r.lon, 5) !== r.g5 || geohash(r.lat, r.lon, 6) !== r.g6 || geohash(r.lat, r.lon, 7) !== r.g7)
    expect(mismatches.slice(0, 5).map((r) => ({ ...r, js7: geohash(r.lat, r.lon, 7) }))).toEqual([])
    // Hangzhou is in the wtm… cells; swapped arguments would land elsewhere.
    expect(rows[0]?.g5.startsWith('wt')).toBe(true)
  })
})

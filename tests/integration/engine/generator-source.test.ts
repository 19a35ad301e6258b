import { describe, expect, it } from 'vitest'
import { scriptedOrders } from '../alerts/scripted.js'
import { testDatabase } from '../../services/clickhouse.js'

/*
 * The built-in generator source starts every run at offset 0. Two runs into one database are two
 * streams: the second must not reuse the first one's deduplication tokens, or ClickHouse drops its
 * blocks as duplicates of the first run's (npm start restarted on its data directory; a test that
 * fills twice).
 */
describe('generator source', () => {
  const ch = testDatabase('gensource')

  it('a second run into the same database lands, even where its flush ranges equal the first run\'s', async () => {
    const start = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000
    // The same shape twice (same counts, so the same offsets and flush ranges), other communities.
    await scriptedOrders(ch, [{ start, community: 'c-run1', counts: [10, 10, 10] }])
    await scriptedOrders(ch, [{ start, community: 'c-run2', counts: [10, 10, 10] }])
    const rs = await ch.client.query({ query: "SELECT community_id, toUInt64(uniqMerge(orders)) AS n FROM gmv_minute WHERE community_id IN ('c-run1', 'c-run2') GROUP BY community_id ORDER BY community_id", format: 'JSONEachRow' })
    expect(await rs.json()).toEqual([{ community_id: 'c-run1', n: 30 }, { community_id: 'c-run2', n: 30 }])
  })
})

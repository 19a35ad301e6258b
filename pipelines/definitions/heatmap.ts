import { add, collect } from '../runtime/cube-buffer.js'
import type { PipelineDefinition } from '../runtime/pipeline.js'
import { minuteStart } from '../runtime/time.js'
import { geohash } from './geohash.js'

const TABLE = 'heatmap_minute'
/** Geohash precisions: ~4.9 km (city), ~1.2 km (district), ~153 m (block) cells. */
export const HEATMAP_PRECISIONS = [5, 6, 7] as const
const FINEST = Math.max(...HEATMAP_PRECISIONS)

/**
 * Geo activity by minute, geohash cell (three precisions) and community: paid orders and GMV at the
 * delivery point, active users at located behaviour events and delivery points.
 */
export const heatmap: PipelineDefinition = {
  name: 'heatmap',
  description: 'orders, GMV and active users by minute, geohash cell (precision 5/6/7) and community',
  sources: ['order', 'behaviour'],
  tables: [TABLE],
  accumulate(e, out) {
    let lat: number
    let lon: number
    let paid = false
    let amount = 0
    if (e.type === 'order') {
      if (e.event.status !== 'paid') return
      lat = e.event.deliveryLat
      lon = e.event.deliveryLon
      paid = true
      amount = e.event.amountCents
    } else if (e.type === 'behaviour' && e.event.lat !== null && e.event.lon !== null) {
      lat = e.event.lat
      lon = e.event.lon
    } else return
    const window = minuteStart(e.event.eventTime)
    // A geohash is the prefix of every finer one of the same point: encode the finest once.
    const finest = geohash(lat, lon, FINEST)
    for (const precision of HEATMAP_PRECISIONS) {
      const cell = precision === FINEST ? finest : finest.slice(0, precision)
      const r = out.row(TABLE, `${window}|${precision}|${cell}|${e.event.communityId}`, () => ({
        window_start: window / 1000,
        precision,
        cell,
        community_id: e.event.communityId,
        orders: 0,
        gmv_cents: 0,
        users: new Set<string>(),
      }))
      if (paid) {
        add(r, 'orders', 1)
        add(r, 'gmv_cents', amount)
      }
      collect(r, 'users', e.event.userId)
    }
  },
}

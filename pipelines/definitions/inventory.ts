import { add } from '../runtime/cube-buffer.js'
import type { PipelineDefinition } from '../runtime/pipeline.js'
import { minuteStart } from '../runtime/time.js'

const BATCHES = 'inventory_batches'
const MOVEMENTS = 'inventory_movements_minute'
const STOCKTAKES = 'inventory_stocktakes'

/**
 * Inventory state per community warehouse, sku and batch (received − sold − lost = on hand, with
 * production and expiry dates) for expiry warnings and restock; movements by minute and kind for
 * turnover; stocktake counts as they were reported.
 */
export const inventory: PipelineDefinition = {
  name: 'inventory',
  description: 'stock per warehouse, sku and batch (on hand, expiry); movements by minute and kind; stocktakes',
  sources: ['inventory'],
  tables: [BATCHES, MOVEMENTS, STOCKTAKES],
  accumulate(e, out) {
    if (e.type !== 'inventory') return
    const i = e.event
    if (i.kind === 'stocktake') {
      out.append(STOCKTAKES, { warehouse_id: i.warehouseId, community_id: i.communityId, sku: i.sku, counted_at: i.eventTime, qty: i.qty, event_id: i.eventId })
    } else {
      const batch = i.batchId ?? ''
      const r = out.row(BATCHES, `${i.warehouseId}|${i.sku}|${batch}`, () => ({
        warehouse_id: i.warehouseId,
        community_id: i.communityId,
        sku: i.sku,
        batch_id: batch,
        received: 0,
        sold: 0,
        lost: 0,
        production_date: null,
        expiry_date: null,
        last_event_time: i.eventTime,
      }))
      add(r, i.kind === 'receipt' ? 'received' : i.kind === 'sale' ? 'sold' : 'lost', i.qty)
      if (i.productionDate) r.production_date = i.productionDate
      if (i.expiryDate) r.expiry_date = i.expiryDate
      if (i.eventTime > (r.last_event_time as number)) r.last_event_time = i.eventTime
    }
    const window = minuteStart(i.eventTime)
    const m = out.row(MOVEMENTS, `${window}|${i.warehouseId}|${i.sku}|${i.kind}`, () => ({
      window_start: window / 1000,
      warehouse_id: i.warehouseId,
      community_id: i.communityId,
      sku: i.sku,
      kind: i.kind,
      qty: 0,
      events: 0,
    }))
    add(m, 'qty', i.qty)
    add(m, 'events', 1)
  },
}

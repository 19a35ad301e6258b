import { add } from '../runtime/cube-buffer.js'
import type { PipelineDefinition } from '../runtime/pipeline.js'
import { minuteStart } from '../runtime/time.js'

const TABLE = 'products_minute'

/** Product sales by minute, community, sku and category (paid orders): quantity, GMV and orders, for TOP-N rankings. */
export const products: PipelineDefinition = {
  name: 'products',
  description: 'quantity, GMV and orders by minute, community, sku and category',
  sources: ['order'],
  tables: [TABLE],
  accumulate(e, out) {
    if (e.type !== 'order' || e.event.status !== 'paid') return
    const o = e.event
    const window = minuteStart(o.eventTime)
    for (const line of o.lines) {
      const r = out.row(TABLE, `${window}|${o.communityId}|${line.sku}`, () => ({
        window_start: window / 1000,
        community_id: o.communityId,
        sku: line.sku,
        category_id: line.categoryId,
        qty: 0,
        gmv_cents: 0,
        orders: 0,
      }))
      add(r, 'qty', line.qty)
      add(r, 'gmv_cents', line.qty * line.unitPriceCents)
      add(r, 'orders', 1)
    }
  },
}

import { add, collect } from '../runtime/cube-buffer.js'
import type { PipelineDefinition } from '../runtime/pipeline.js'
import { minuteStart } from '../runtime/time.js'

const TABLE = 'activity_minute'

/**
 * Activity by minute, community and action: events and distinct users. Behaviour actions come
 * from the behaviour stream; `order` (an order created) from the order stream, so the funnel
 * view → cart_add → order is three actions of one cube.
 */
export const activity: PipelineDefinition = {
  name: 'activity',
  description: 'events and active users by minute, community and action (view, search, cart_add, …, order)',
  sources: ['behaviour', 'order'],
  tables: [TABLE],
  accumulate(e, out) {
    let action: string
    if (e.type === 'behaviour') action = e.event.action
    else if (e.type === 'order' && e.event.status === 'created') action = 'order'
    else return
    const window = minuteStart(e.event.eventTime)
    const r = out.row(TABLE, `${window}|${e.event.communityId}|${action}`, () => ({
      window_start: window / 1000,
      community_id: e.event.communityId,
      action,
      events: 0,
      users: new Set<string>(),
    }))
    add(r, 'events', 1)
    collect(r, 'users', e.event.userId)
  },
}

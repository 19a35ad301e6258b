import { ACTIVITY_CUBE } from './cubes.js'
import { cubePipeline, type PipelineDefinition } from './pipeline.js'

/**
 * Activity by minute, community and action: events and distinct users. Behaviour actions come
 * from the behaviour stream; `order` (an order created) from the order stream, so the funnel
 * view → cart_add → order is three actions of one cube. Built by the views
 * activity_minute_from_behaviour and activity_minute_from_order.
 */
export const activity: PipelineDefinition = cubePipeline(ACTIVITY_CUBE, {
  description: 'events and active users by minute, community and action (view, search, cart_add, …, order)',
  sources: ['behaviour', 'order'], bit: 2,
})

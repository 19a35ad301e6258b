export { fifoRisk } from './fifo.js'
export type { FifoBatch, FifoResult } from './fifo.js'
export { assessExpiry } from './expiry.js'
export type { BatchRisk, ExpiryAssessment, ExpiryOptions, RowQuery } from './expiry.js'

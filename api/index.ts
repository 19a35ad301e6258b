export { buildApi } from './app.js'
export type { ApiOptions } from './app.js'
export { ApiError, ApiErrorCode } from './errors.js'

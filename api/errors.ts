import { StreamcubeError } from '../schemas/index.js'

/** API error codes: the `code` of every error body `{ statusCode, code, error, message }`. */
export const ApiErrorCode = {
  BAD_REQUEST: 'API_BAD_REQUEST',
  NOT_FOUND: 'API_NOT_FOUND',
  NOT_READY: 'API_NOT_READY',
  INTERNAL: 'API_INTERNAL',
} as const
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode]

export class ApiError extends StreamcubeError<ApiErrorCode> {
  constructor(code: ApiErrorCode, readonly statusCode: number, message: string) {
    super(code, message)
  }
}

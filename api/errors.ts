import { StreamcubeError } from '../schemas/index.js'

/** API error codes: the `code` of every error body `{ statusCode, code, error, message }`. */
export const ApiErrorCode = {
  BAD_REQUEST: 'API_BAD_REQUEST',
  UNAUTHORIZED: 'API_UNAUTHORIZED',
  FORBIDDEN: 'API_FORBIDDEN',
  NOT_FOUND: 'API_NOT_FOUND',
  CONFLICT: 'API_CONFLICT',
  RATE_LIMITED: 'API_RATE_LIMITED',
  NOT_READY: 'API_NOT_READY',
  OVERLOADED: 'API_OVERLOADED',
  QUERY_TIMEOUT: 'API_QUERY_TIMEOUT',
  UNAVAILABLE: 'API_UNAVAILABLE',
  INTERNAL: 'API_INTERNAL',
} as const
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode]

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/** An error a route answers with: its status, code and a message that says what to change. */
export class ApiError extends StreamcubeError<ApiErrorCode> {
  constructor(code: ApiErrorCode, readonly statusCode: number, message: string) {
    super(code, message)
  }

  /** The error body every API error has. */
  body(): { statusCode: number; code: ApiErrorCode; error: string; message: string } {
    return { statusCode: this.statusCode, code: this.code, error: REASON[this.statusCode] ?? 'Error', message: this.message }
  }
}

export const badRequest = (message: string) => new ApiError(ApiErrorCode.BAD_REQUEST, 400, message)
export const forbidden = (message: string) => new ApiError(ApiErrorCode.FORBIDDEN, 403, message)

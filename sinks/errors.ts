import { StreamcubeError } from '../schemas/index.js'

/** Failures at the edges where results leave streamcube. Closed list; a test holds the codes unique. */
export const SinkErrorCode = {
  CONNECT: 'SINK_CONNECT',
  INSERT: 'SINK_INSERT',
  QUERY: 'SINK_QUERY',
  MIGRATION_CHANGED: 'SINK_MIGRATION_CHANGED',
  MIGRATION_FAILED: 'SINK_MIGRATION_FAILED',
  MIGRATION_FILE: 'SINK_MIGRATION_FILE',
  EMBEDDED_LOCKED: 'SINK_EMBEDDED_LOCKED',
  /** A notification receiver refused or could not be reached (retryable for network errors, 408, 429 and 5xx). */
  WEBHOOK: 'SINK_WEBHOOK',
} as const
export type SinkErrorCode = (typeof SinkErrorCode)[keyof typeof SinkErrorCode]

export class SinkError extends StreamcubeError<SinkErrorCode> {}

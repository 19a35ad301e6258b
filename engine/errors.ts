import { StreamcubeError } from '../schemas/index.js'

/** Stream engine failures. Closed list; a test holds the codes unique. */
export const EngineErrorCode = {
  UNKNOWN_TOPIC: 'ENGINE_UNKNOWN_TOPIC',
  PIPELINE_SET_CHANGED: 'ENGINE_PIPELINE_SET_CHANGED',
  COMMIT_REFUSED: 'ENGINE_COMMIT_REFUSED',
  TRANSPORT_UNAVAILABLE: 'ENGINE_TRANSPORT_UNAVAILABLE',
  RANGE_UNREADABLE: 'ENGINE_RANGE_UNREADABLE',
  GROUP_NOT_ON_RECORD: 'ENGINE_GROUP_NOT_ON_RECORD',
  GROUP_REPLAY_MISMATCH: 'ENGINE_GROUP_REPLAY_MISMATCH',
  /** A graceful stop did not finish within STOP_TIMEOUT_MS: what it did not commit is replayed. */
  STOP_TIMEOUT: 'ENGINE_STOP_TIMEOUT',
  /** A broken internal invariant: a bug, never bad input. */
  INVARIANT: 'ENGINE_INVARIANT',
} as const
export type EngineErrorCode = (typeof EngineErrorCode)[keyof typeof EngineErrorCode]

export class EngineError extends StreamcubeError<EngineErrorCode> {}

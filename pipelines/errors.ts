import { StreamcubeError } from '../schemas/index.js'

/** Pipeline declaration and selection failures. Closed list; a test holds the codes unique. */
export const PipelineErrorCode = {
  UNKNOWN: 'PIPELINE_UNKNOWN',
  /** A cube measure that its declaration does not have (a bug in the code that names it). */
  UNKNOWN_MEASURE: 'PIPELINE_UNKNOWN_MEASURE',
} as const
export type PipelineErrorCode = (typeof PipelineErrorCode)[keyof typeof PipelineErrorCode]

export class PipelineError extends StreamcubeError<PipelineErrorCode> {}

import { StreamcubeError } from '../schemas/index.js'

/** Failures of the scheduled and maintenance jobs (today: rebuild; a bad alert rule file is a ConfigError, since it stops start-up). Closed list; a test holds the codes unique. */
export const JobErrorCode = {
  /** `rebuild` was asked for a cube it cannot rebuild, or the views it would run are missing. */
  UNKNOWN_CUBE: 'JOB_UNKNOWN_CUBE',
  /** A time range whose start is not before its end, or that the job cannot cover. */
  INVALID_RANGE: 'JOB_INVALID_RANGE',
} as const
export type JobErrorCode = (typeof JobErrorCode)[keyof typeof JobErrorCode]

export class JobError extends StreamcubeError<JobErrorCode> {}

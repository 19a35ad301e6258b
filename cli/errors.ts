import { StreamcubeError } from '../schemas/index.js'

/** Command-line failures. Closed list; a test holds the codes unique. */
export const CliErrorCode = {
  /** A flag or argument the command cannot use; exit status 2 with the message. */
  USAGE: 'CLI_USAGE',
} as const
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode]

export class CliError extends StreamcubeError<CliErrorCode> {}

/** A usage error: the message says what to change. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(CliErrorCode.USAGE, message)
  }
}

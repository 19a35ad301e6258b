/**
 * The base of every typed error streamcube raises. Each stage (schemas, pipelines, sinks, api)
 * declares its own closed list of codes in its `errors.ts`; the base carries what an operator
 * needs to act: the code, whether a retry can help, the cause, and where it happened.
 */
export class StreamcubeError<C extends string = string> extends Error {
  readonly code: C
  readonly retryable: boolean
  readonly context: Readonly<Record<string, unknown>>

  constructor(
    code: C,
    message: string,
    options: { retryable?: boolean; cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.retryable = options.retryable ?? false
    this.context = Object.freeze({ ...(options.context ?? {}) })
  }

  /** A plain object for logs and dead-letter headers. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, retryable: this.retryable, context: this.context }
  }
}

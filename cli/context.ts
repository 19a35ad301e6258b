import type { Logger } from 'pino'
import { loadConfig, type Config, type ConfigOverrides } from '../schemas/index.js'
import { UsageError } from './errors.js'
import { createRootLogger } from './logger.js'

/** What every command gets: validated config, the root logger, and output helpers. */
export interface CliContext {
  /** Loads and validates the configuration (env + these flag overrides) once; throws ConfigError. */
  config(overrides: ConfigOverrides): Config
  readonly log: Logger
  print(text: string): void
  usageError(message: string): never
}

export { UsageError } from './errors.js'

export function createContext(globalOpts: () => { logLevel?: string }): CliContext {
  let config: Config | undefined
  let log: Logger | undefined
  const ctx: CliContext = {
    config(overrides) {
      config ??= loadConfig(process.env, { logLevel: globalOpts().logLevel, ...overrides })
      return config
    },
    get log() {
      log ??= createRootLogger(config?.logLevel ?? globalOpts().logLevel ?? process.env.LOG_LEVEL ?? 'info')
      return log
    },
    print(text) {
      process.stdout.write(`${text}\n`)
    },
    usageError(message) {
      throw new UsageError(message)
    },
  }
  return ctx
}

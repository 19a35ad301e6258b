import { logLevel, type logCreator } from 'kafkajs'
import type { Logger } from 'pino'

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

/** Routes kafkajs's own logging into a pino child logger (`module: kafkajs`). */
export function kafkajsLogCreator(log: Logger): logCreator {
  const child = log.child({ client: 'kafkajs' })
  return () =>
    ({ level, log: entry }) => {
      const { message, ...fields } = entry
      child[LEVELS[level] ?? 'info'](fields, message)
    }
}

/** kafkajs's level for a pino level: kafkajs is chatty at info, so it logs one level quieter. */
export function kafkajsLevel(pinoLevel: string): logLevel {
  switch (pinoLevel) {
    case 'trace':
    case 'debug':
      return logLevel.INFO
    case 'silent':
      return logLevel.NOTHING
    default:
      return logLevel.WARN
  }
}

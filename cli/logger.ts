import { pino, type Logger } from 'pino'

/** The one root logger of a streamcube process; modules take `log.child({ module })` and their parts `child({ component })` (a key bound twice is written twice). JSON to stderr. */
export function createRootLogger(level: string): Logger {
  return pino({ level, base: { app: 'streamcube' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2))
}

import { InvalidArgumentError } from 'commander'

/** Commander parser for a positive integer option, with a message that names the option. */
export function positiveInt(name: string) {
  return (raw: string): number => {
    const n = Number(raw.replace(/_/g, ''))
    if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number, got ${JSON.stringify(raw)}`)
    return n
  }
}

/** Commander parser for a time: ISO 8601 or epoch milliseconds. */
export function timeArg(raw: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw)
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected an ISO 8601 time (2026-11-16T00:00:00+08:00) or epoch ms, got ${JSON.stringify(raw)}`)
  return n
}

/** Start of the current UTC day: the default simulation start. */
export function startOfToday(): number {
  const now = new Date()
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
}

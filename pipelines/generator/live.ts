import type { Logger } from 'pino'
import { createJsonCodec, jsonEncoder, type EventType, type TypedEvent } from '../../schemas/index.js'
import type { EventGenerator, GeneratedRecord } from './generator.js'

export interface LiveFeedOptions {
  readonly generator: EventGenerator
  /** Receives each second's events, decoded through the JSON wire contract, with their sequence numbers. */
  readonly sink: (batch: readonly { event: TypedEvent; offset: number }[]) => Promise<void>
  readonly log: Logger
  readonly signal: AbortSignal
  readonly intervalMs?: number
  readonly now?: () => number
}

/**
 * Feeds generated events at wall-clock pace: every interval it hands out the events whose event
 * time has come. Each event goes through encode → decode exactly as a Kafka record would, so the
 * in-process path exercises the same contracts. Returns the number of events fed.
 */
export async function runLiveFeed(options: LiveFeedOptions): Promise<number> {
  const now = options.now ?? Date.now
  const codecs = {
    behaviour: createJsonCodec('behaviour'),
    order: createJsonCodec('order'),
    inventory: createJsonCodec('inventory'),
  } satisfies Record<EventType, unknown>
  let pending: GeneratedRecord | undefined
  let offset = 0
  while (!options.signal.aborted) {
    const batch: { event: TypedEvent; offset: number }[] = []
    const until = now()
    for (;;) {
      pending ??= options.generator.next()
      if (pending.event.event.eventTime > until) break
      const decoded = codecs[pending.type].decode(jsonEncoder.encode(pending.event))
      if (decoded.ok) for (const event of decoded.value) batch.push({ event, offset })
      else options.log.warn({ err: decoded.error.toJSON(), offset }, 'generated event failed its own contract')
      offset++
      pending = undefined
      if (batch.length >= 50_000) break
    }
    if (batch.length > 0) await options.sink(batch)
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.intervalMs ?? 1000)
      options.signal.addEventListener('abort', () => {
        clearTimeout(timer)
        resolve()
      }, { once: true })
    })
  }
  return offset
}

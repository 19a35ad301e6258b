import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { EventGenerator, runGeneratorSource } from '../../../generator/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import type { GeneratedRecord } from '../../../generator/generator.js'
import { signature, type ClickHouse } from '../../../sinks/index.js'
import type { InventoryEvent, OrderEvent } from '../../../schemas/index.js'
import { silent } from '../engine/harness.js'

/*
 * Scripted traffic for alert tests: paid orders of one community at chosen times, pushed through
 * the real pipelines (the generator source's processors, flush protocol and sink), so the rules
 * read cubes exactly as in production; and a real HTTP receiver.
 */

/** A generated paid order and inventory receipt: templates that scripted events copy, so they are schema-valid. */
export function generatedTemplates(seed: number): { order: OrderEvent; receipt: InventoryEvent } {
  const gen = new EventGenerator({ seed, start: Date.now() - 3 * 86_400_000 })
  let order: OrderEvent | undefined
  let receipt: InventoryEvent | undefined
  while (!order || !receipt) {
    const r = gen.next()
    if (!order && r.event.type === 'order' && r.event.event.status === 'paid') order = r.event.event
    if (!receipt && r.event.type === 'inventory' && r.event.event.kind === 'receipt') receipt = r.event.event
  }
  return { order, receipt }
}

/** A paid order of `community` at `time`, copied from a generated one. */
function orderFactory(): (time: number, n: number, community: string) => GeneratedRecord {
  const t = generatedTemplates(5).order
  return (time, n, community) => ({
    type: 'order',
    key: `o-${community}-${n}`,
    event: { type: 'order', event: { ...t, eventId: `e-${community}-${n}`, orderId: `o-${community}-${n}`, eventTime: time, communityId: community, leaderId: `l-${community}-1` } },
  })
}

/**
 * Writes the orders of `counts` (orders per minute, minute i starting at start + i min) for
 * `community` through the pipelines into `ch`; returns the number of events.
 */
export async function scriptedOrders(ch: ClickHouse, schedule: readonly { start: number; community: string; counts: readonly number[]; stepMs?: number }[]): Promise<number> {
  const make = orderFactory()
  const events: GeneratedRecord[] = []
  let n = 0
  for (const s of schedule) {
    const step = s.stepMs ?? 60_000
    s.counts.forEach((count, i) => {
      for (let j = 0; j < count; j++) events.push(make(s.start + i * step + Math.floor(((j + 0.5) * step) / Math.max(count, 1) / 2), n++, s.community))
    })
  }
  return runScripted(ch, events, (t) => make(t, n++, 'c-none'))
}

/** Feeds records (any types, sorted here by event time) through the real pipelines into `ch`; returns how many. */
export async function runScripted(ch: ClickHouse, records: GeneratedRecord[], filler?: (time: number) => GeneratedRecord): Promise<number> {
  const events = [...records].sort((a, b) => a.event.event.eventTime - b.event.event.eventTime)
  const end = (events.at(-1)?.event.event.eventTime ?? 0) + 1
  let i = 0
  // Past the last record, the source is asked once more: an event after `end` stops it.
  const after = filler ?? ((t: number) => ({ ...events[0]!, event: { ...events[0]!.event, event: { ...events[0]!.event.event, eventTime: t } } }) as GeneratedRecord)
  const source = { next: (): GeneratedRecord => events[i++] ?? after(end + 86_400_000) } as unknown as EventGenerator
  return runGeneratorSource({ generator: source, pipelines: PIPELINES, ch, log: silent, signal: new AbortController().signal, intervalMs: 1, now: () => end, until: end })
}

export interface Received {
  readonly status: 'firing' | 'resolved'
  readonly key: string
  readonly body: { status: string; alerts: { labels: Record<string, string>; annotations: Record<string, string> }[] }
  readonly signed: boolean
}

/** An Alertmanager-webhook receiver: records accepted deliveries; answers 503 while `down`. */
export async function receiver(secret: string): Promise<{ url: string; accepted: Received[]; rejected: number; down: boolean; close(): Promise<void> }> {
  const state = { accepted: [] as Received[], rejected: 0, down: false }
  const server: Server = createServer((req, res) => {
    let raw = ''
    req.on('data', (d: Buffer) => (raw += d.toString()))
    req.on('end', () => {
      if (state.down) {
        state.rejected++
        return void res.writeHead(503).end()
      }
      const body = JSON.parse(raw)
      const ts = String(req.headers['x-streamcube-timestamp'] ?? '')
      state.accepted.push({ status: body.status, key: String(req.headers['idempotency-key']), body, signed: req.headers['x-streamcube-signature'] === signature(secret, ts, raw) })
      res.writeHead(200).end('ok')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/hook`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  })
}

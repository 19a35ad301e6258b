/**
 * The worker-thread side of bench/worker-threads.ts: one processor per stream, fed batches of
 * records (values concatenated in one transferred buffer), answering each flush with its tables'
 * insert bytes (transferred back). No I/O here: the embedded engine must stay on the main thread.
 */
import { parentPort } from 'node:worker_threads'
import type { PartitionProcessor } from '../engine/index.js'
import { EVENT_TYPES, type EventType } from '../schemas/index.js'
import { encodeRows } from '../sinks/clickhouse/insert.js'
import { streamProcessors } from './processors.js'

export interface HostBatch {
  readonly type: EventType
  readonly values: ArrayBuffer
  readonly ends: Int32Array
  readonly flush: boolean
  readonly timestamp: string
}
export interface HostInsert {
  readonly table: string
  readonly format: 'JSONEachRow' | 'JSONCompactEachRow'
  readonly columns: readonly string[] | null
  readonly values: ArrayBuffer
  readonly rows: number
}

const processors = streamProcessors()
const offsets = new Map<EventType, number>(EVENT_TYPES.map((t) => [t, 0]))

parentPort?.on('message', (m: HostBatch) => {
  const p = processors.get(m.type) as PartitionProcessor
  const all = Buffer.from(m.values)
  let offset = offsets.get(m.type) as number
  let start = 0
  for (const end of m.ends) {
    p.handle({ offset: String(offset++), key: null, value: all.subarray(start, end), headers: {}, timestamp: m.timestamp })
    start = end
  }
  offsets.set(m.type, offset)
  const inserts: HostInsert[] = []
  const plan = m.flush ? p.takeFlush() : null
  for (const tables of plan?.rows.values() ?? []) {
    for (const [table, rows] of tables) {
      if (rows.length === 0) continue
      const e = encodeRows(rows)
      inserts.push({ table, format: e.format, columns: e.columns, values: e.values.buffer.slice(e.values.byteOffset, e.values.byteOffset + e.values.byteLength) as ArrayBuffer, rows: e.rows })
    }
  }
  parentPort?.postMessage(inserts, inserts.map((i) => i.values))
})

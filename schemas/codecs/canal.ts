import { DecodeErrorCode, fail, ok, type DecodeResult } from '../errors.js'
import type { TypedEvent } from '../events.js'
import { mapRow, type Row, type RowChange } from './cdc-rows.js'
import type { Codec } from './codec.js'
import { isObject, resolveCdcOptions, type CdcOptions } from './debezium.js'
import { parseJsonBytes } from './json.js'

const TYPES: Readonly<Record<string, RowChange>> = { INSERT: 'insert', UPDATE: 'update', DELETE: 'delete' }

/**
 * Canal flat JSON messages: one message per statement, `data[]` the rows after the change,
 * `old[]` (UPDATE) only the columns that changed, all values as strings; DDL messages carry no
 * business event. An error in any row rejects the whole message so it is dead-lettered intact.
 */
export function createCanalCodec(options: CdcOptions = {}): Codec {
  const { limits, bounds, tables, tzOffsetMinutes, stream } = resolveCdcOptions(options)
  return {
    format: 'canal',
    decode(bytes): DecodeResult<readonly TypedEvent[]> {
      const parsed = parseJsonBytes(bytes, limits)
      if (!parsed.ok) return parsed
      const msg = parsed.value
      if (!isObject(msg)) return fail(DecodeErrorCode.CDC_ENVELOPE, 'expected a Canal message object')
      if (msg.isDdl === true) return ok([])
      if (typeof msg.type !== 'string') return fail(DecodeErrorCode.CDC_ENVELOPE, 'missing type', 'type')
      const change = TYPES[msg.type]
      if (!change) {
        // QUERY, CREATE, ALTER… statements that are not row changes.
        if (msg.data === null || msg.data === undefined) return ok([])
        return fail(DecodeErrorCode.CDC_OPERATION, `unknown Canal type ${JSON.stringify(msg.type)}`, 'type')
      }
      if (typeof msg.table !== 'string') return fail(DecodeErrorCode.CDC_ENVELOPE, 'missing table', 'table')
      if (stream === undefined && msg.table !== tables.orders && msg.table !== tables.inventory) {
        return fail(DecodeErrorCode.CDC_UNKNOWN_TABLE, `table ${JSON.stringify(msg.table)} is not mapped (expected ${tables.orders} or ${tables.inventory})`, 'table')
      }
      if (!Array.isArray(msg.data)) return fail(DecodeErrorCode.CDC_ENVELOPE, 'data is not an array of rows', 'data')
      const old = Array.isArray(msg.old) ? msg.old : null
      const sourceTime = typeof msg.es === 'number' ? msg.es : typeof msg.ts === 'number' ? msg.ts : Number.NaN
      const events: TypedEvent[] = []
      for (let i = 0; i < msg.data.length; i++) {
        const row = msg.data[i]
        if (!isObject(row)) return fail(DecodeErrorCode.CDC_ENVELOPE, 'a row is not an object', `data.${i}`)
        const oldRow = old && isObject(old[i]) ? (old[i] as Row) : null
        const changedColumns = change === 'update' ? new Set(Object.keys(oldRow ?? {})) : null
        // Canal's `old` holds only the changed columns: rebuild the full before image.
        const before = change === 'update' ? { ...row, ...(oldRow ?? {}) } : change === 'delete' ? (row as Row) : null
        const after = change === 'delete' ? null : (row as Row)
        const mapped = mapRow(msg.table, tables, { change, before, after, changedColumns, sourceTime, hints: {}, tzOffsetMinutes, bounds }, stream)
        if (!mapped.ok) {
          const e = mapped.error
          return fail(e.code, e.reason, e.path ? `data.${i}.${e.path}` : `data.${i}`)
        }
        if (mapped.value) events.push(mapped.value)
      }
      return ok(events)
    },
  }
}

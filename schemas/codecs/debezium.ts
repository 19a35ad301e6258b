import { DecodeErrorCode, fail, ok, type DecodeResult } from '../errors.js'
import type { TypedEvent } from '../events.js'
import type { TimeBounds } from '../validate.js'
import { mapRow, DEFAULT_CDC_TABLES, type CdcStream, type CdcTables, type ColumnHints, type Row, type RowChange } from './cdc-rows.js'
import { codecDefaults, type Codec, type CodecLimits } from './codec.js'
import { parseJsonBytes } from './json.js'

export interface CdcOptions {
  readonly tables?: CdcTables
  readonly limits?: CodecLimits
  readonly bounds?: TimeBounds
  /** Offset of the source database's local time from UTC (Canal DATETIME strings carry no zone). Default +08:00. */
  readonly tzOffsetMinutes?: number
  /** The stream every row of the topic feeds (a source spec's stream), whatever its table's name. */
  readonly stream?: CdcStream
}

const OPS: Readonly<Record<string, RowChange>> = { c: 'insert', u: 'update', d: 'delete', r: 'snapshot' }

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** CDC codec options with their defaults filled in (shared by the Debezium and Canal codecs). */
export function resolveCdcOptions(options: CdcOptions) {
  return {
    ...codecDefaults(options),
    tables: options.tables ?? DEFAULT_CDC_TABLES,
    tzOffsetMinutes: options.tzOffsetMinutes ?? 480,
    stream: options.stream,
  }
}

interface ConnectField {
  field?: string
  name?: string
  type?: string
  fields?: ConnectField[]
  parameters?: Record<string, string>
}

/** Reads column semantic types and decimal scales from a Kafka Connect JSON schema, when present. */
function hintsFromSchema(schema: unknown): ColumnHints {
  const semantic: Record<string, string> = {}
  const scale: Record<string, number> = {}
  const fields = isObject(schema) ? (schema.fields as ConnectField[] | undefined) : undefined
  const row = fields?.find((f) => f.field === 'after' || f.field === 'before')
  for (const f of row?.fields ?? []) {
    if (!f.field || !f.name) continue
    semantic[f.field] = f.name
    const s = f.parameters?.scale
    if (f.name === 'org.apache.kafka.connect.data.Decimal' && s !== undefined) scale[f.field] = Number(s)
  }
  return { semantic, scale }
}

/**
 * Debezium change events (JSON converter), with or without the `schema`/`payload` wrapper.
 * Tombstones and truncate/message events carry no business event and decode to none.
 */
export function createDebeziumCodec(options: CdcOptions = {}): Codec {
  const { limits, bounds, tables, tzOffsetMinutes, stream } = resolveCdcOptions(options)
  return {
    format: 'debezium',
    decode(bytes): DecodeResult<readonly TypedEvent[]> {
      // A null value is a Debezium tombstone (it follows a delete for log compaction).
      if (bytes === null || bytes.length === 0) return ok([])
      const parsed = parseJsonBytes(bytes, limits)
      if (!parsed.ok) return parsed
      let envelope = parsed.value
      let hints: ColumnHints = {}
      if (isObject(envelope) && 'payload' in envelope && 'schema' in envelope) {
        hints = hintsFromSchema(envelope.schema)
        envelope = envelope.payload
      }
      if (envelope === null) return ok([])
      if (!isObject(envelope)) return fail(DecodeErrorCode.CDC_ENVELOPE, 'expected a Debezium envelope object')
      const op = envelope.op
      if (typeof op !== 'string') return fail(DecodeErrorCode.CDC_ENVELOPE, 'missing op', 'op')
      if (op === 't' || op === 'm') return ok([])
      const change = OPS[op]
      if (!change) return fail(DecodeErrorCode.CDC_OPERATION, `unknown Debezium op ${JSON.stringify(op)}`, 'op')
      const source = envelope.source
      if (!isObject(source) || typeof source.table !== 'string') return fail(DecodeErrorCode.CDC_ENVELOPE, 'missing source.table', 'source.table')
      const before = isObject(envelope.before) ? (envelope.before as Row) : null
      const after = isObject(envelope.after) ? (envelope.after as Row) : null
      if (change !== 'delete' && !after) return fail(DecodeErrorCode.CDC_ENVELOPE, `op ${op} without an after image`, 'after')
      if (change === 'delete' && !before) return fail(DecodeErrorCode.CDC_ENVELOPE, 'op d without a before image', 'before')
      const sourceTime = typeof source.ts_ms === 'number' ? source.ts_ms : typeof envelope.ts_ms === 'number' ? envelope.ts_ms : Number.NaN
      const mapped = mapRow(source.table, tables, { change, before, after, changedColumns: null, sourceTime, hints, tzOffsetMinutes, bounds }, stream)
      if (!mapped.ok) return mapped
      return ok(mapped.value ? [mapped.value] : [])
    },
  }
}

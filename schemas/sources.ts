import { z } from 'zod'
import { CodecFormat } from './codecs/codec.js'
import { CDC_STREAMS } from './codecs/cdc-rows.js'
import { EVENT_TYPES, type EventType } from './events.js'

/*
 * Which Kafka topic carries which stream in which format: `<stream>=<format>:<topic>`, given to
 * `streamcube run --source` (repeatable) or STREAMCUBE_SOURCES (comma-separated). A stream without
 * a source reads its default topic (`<prefix>behaviour`, `<prefix>orders`, `<prefix>inventory`) in
 * the configured encoding; a stream with sources reads those topics only (name the default topic
 * as a source too to keep it).
 */

export const SOURCE_FORMATS = [CodecFormat.json, CodecFormat.confluentAvro, CodecFormat.debezium, CodecFormat.canal] as const
export type SourceFormat = (typeof SOURCE_FORMATS)[number]

export interface SourceSpec {
  readonly stream: EventType
  readonly format: SourceFormat
  readonly topic: string
}

/** Kafka's own rule for topic names. */
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/
const CDC_FORMATS: readonly SourceFormat[] = [CodecFormat.debezium, CodecFormat.canal]

export const SOURCE_SPEC_HELP = `<stream>=<format>:<topic>, stream one of ${EVENT_TYPES.join(', ')}, format one of ${SOURCE_FORMATS.join(', ')} (e.g. order=debezium:shop.shop.orders)`

/** Parses one spec; the error says what is wrong with it in words that name the fix. */
export function parseSourceSpec(raw: string): SourceSpec | { readonly error: string } {
  const spec = raw.trim()
  const eq = spec.indexOf('=')
  const colon = spec.indexOf(':', eq + 1)
  if (eq <= 0 || colon < 0) return { error: `"${spec}" is not ${SOURCE_SPEC_HELP}` }
  const stream = spec.slice(0, eq)
  const format = spec.slice(eq + 1, colon)
  const topic = spec.slice(colon + 1)
  if (!(EVENT_TYPES as readonly string[]).includes(stream)) return { error: `"${spec}": the stream "${stream}" is not one of ${EVENT_TYPES.join(', ')}` }
  if (!(SOURCE_FORMATS as readonly string[]).includes(format)) return { error: `"${spec}": the format "${format}" is not one of ${SOURCE_FORMATS.join(', ')}` }
  if (!TOPIC.test(topic)) return { error: `"${spec}": the topic "${topic}" is not a Kafka topic name (letters, digits, ".", "_" and "-", at most 249)` }
  if (CDC_FORMATS.includes(format as SourceFormat) && !(CDC_STREAMS as readonly string[]).includes(stream)) {
    return { error: `"${spec}": ${format} carries rows of the orders and inventory tables; behaviour has no CDC source (use json or confluent-avro)` }
  }
  return { stream: stream as EventType, format: format as SourceFormat, topic }
}

/** The `sources` setting: specs, parsed; a topic feeds one stream in one format. */
export const SourcesSchema = z
  .array(
    z.string().transform((raw, ctx) => {
      const parsed = parseSourceSpec(raw)
      if ('error' in parsed) {
        ctx.addIssue({ code: 'custom', message: parsed.error })
        return z.NEVER
      }
      return parsed
    }),
  )
  .superRefine((specs, ctx) => {
    const seen = new Map<string, SourceSpec>()
    for (const s of specs) {
      const before = seen.get(s.topic)
      if (before && (before.stream !== s.stream || before.format !== s.format)) {
        ctx.addIssue({ code: 'custom', message: `the topic ${s.topic} is given twice (${before.stream}=${before.format}, ${s.stream}=${s.format}); a topic feeds one stream in one format` })
      }
      seen.set(s.topic, s)
    }
  })
  .transform((specs) => specs.filter((s, i) => specs.findIndex((x) => x.topic === s.topic) === i))
  .default([])

import type avro from 'avsc'
import { avroType, eventTypeOfAvroName } from '../avro.js'
import { DecodeError, DecodeErrorCode, fail, ok } from '../errors.js'
import type { EventType, TypedEvent } from '../events.js'
import { LOCAL_SCHEMA_IDS, type SchemaRegistryClient } from '../registry.js'
import type { TimeBounds } from '../validate.js'
import { decodeAvroBody } from './avro.js'
import { codecDefaults, fitsLimits, sizeFailure, type Codec, type CodecLimits, type Encoder } from './codec.js'

// Confluent wire format: magic byte 0, a 4-byte big-endian schema id, then the Avro body.
const MAGIC = 0
const HEADER = 5

type Known = { readonly type: EventType; readonly resolver?: avro.Resolver } | { readonly error: DecodeError }

export interface ConfluentCodecOptions {
  /** Fetches writer schemas of ids not in `localIds`. Without one, only local ids decode. */
  readonly registry?: SchemaRegistryClient
  readonly localIds?: Readonly<Record<EventType, number>>
  readonly limits?: CodecLimits
  readonly bounds?: TimeBounds
}

/**
 * Confluent-framed Avro. The schema id names the writer schema; the record is resolved into
 * streamcube's reader schema (so compatible schema evolution works) and its record name decides the
 * event type. Ids are resolved in `prepare` (async, once per id); `decode` stays synchronous.
 */
export function createConfluentCodec(options: ConfluentCodecOptions = {}): Codec {
  const { limits, bounds } = codecDefaults(options)
  const schemaNames = new Map<number, string>()
  const known = new Map<number, Known>()
  for (const [type, id] of Object.entries(options.localIds ?? LOCAL_SCHEMA_IDS)) known.set(id, { type: type as EventType })
  // Ids whose last fetch failed for a reason a retry may fix; not cached as unknown.
  const unavailable = new Map<number, DecodeError>()

  async function resolve(id: number, registry: SchemaRegistryClient): Promise<void> {
    let writer: avro.Type | undefined
    try {
      writer = await registry.fetch(id)
    } catch (err) {
      unavailable.set(id, new DecodeError(DecodeErrorCode.REGISTRY_UNAVAILABLE, `schema id ${id}: registry unreachable: ${(err as Error).message}`, { cause: err }))
      return
    }
    unavailable.delete(id)
    if (!writer) {
      known.set(id, { error: new DecodeError(DecodeErrorCode.UNKNOWN_SCHEMA_ID, `schema id ${id} is not in the registry`) })
      return
    }
    const type = eventTypeOfAvroName(writer.name)
    if (!type) {
      known.set(id, { error: new DecodeError(DecodeErrorCode.SCHEMA_MISMATCH, `schema id ${id} is record ${writer.name ?? '(unnamed)'}, not a streamcube event`) })
      return
    }
    try {
      known.set(id, { type, resolver: avroType(type).createResolver(writer) })
    } catch (err) {
      known.set(id, { error: new DecodeError(DecodeErrorCode.SCHEMA_MISMATCH, `schema id ${id} cannot be read as ${type}: ${(err as Error).message}`, { cause: err }) })
    }
  }

  return {
    format: 'confluent-avro',
    async prepare(batch) {
      const registry = options.registry
      if (!registry) return
      const ids = new Set<number>()
      for (const b of batch) if (b && b.length >= HEADER && b[0] === MAGIC) ids.add(b.readInt32BE(1))
      for (const id of ids) if (!known.has(id)) await resolve(id, registry)
    },
    schemaOf(bytes) {
      const id = bytes.readUInt32BE(1)
      let name = schemaNames.get(id)
      if (name === undefined) schemaNames.set(id, (name = `confluent-avro:${id}`))
      return name
    },
    decode(bytes) {
      if (!fitsLimits(bytes, limits)) return sizeFailure(bytes, limits)
      if (bytes[0] !== MAGIC) return fail(DecodeErrorCode.MAGIC_BYTE, `first byte is ${bytes[0]}, not the Confluent magic byte 0`)
      if (bytes.length < HEADER) return fail(DecodeErrorCode.AVRO_TRUNCATED, `${bytes.length} bytes: shorter than the 5-byte Confluent header`)
      const id = bytes.readInt32BE(1)
      const entry = known.get(id)
      if (!entry) {
        const transient = unavailable.get(id)
        if (transient) return { ok: false, error: transient }
        return fail(DecodeErrorCode.UNKNOWN_SCHEMA_ID, options.registry ? `schema id ${id} was not resolved` : `schema id ${id} is unknown and no schema registry is configured`)
      }
      if ('error' in entry) return { ok: false, error: entry.error }
      const result = decodeAvroBody(entry.type, bytes.subarray(HEADER), bounds, entry.resolver)
      return result.ok ? ok([result.value]) : result
    },
  }
}

/** Frames Avro bodies with the Confluent header, using one schema id per event type. */
export function createConfluentEncoder(ids: Readonly<Record<EventType, number>> = LOCAL_SCHEMA_IDS): Encoder {
  return {
    format: 'confluent-avro',
    encode(e: TypedEvent) {
      const body = avroType(e.type).toBuffer(e.event)
      const out = Buffer.allocUnsafe(HEADER + body.length)
      out[0] = MAGIC
      out.writeInt32BE(ids[e.type], 1)
      body.copy(out, HEADER)
      return out
    },
  }
}

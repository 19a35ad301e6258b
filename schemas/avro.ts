import { readFileSync } from 'node:fs'
import avro from 'avsc'
import { EventTypes, type EventType } from './events.js'

// The .avsc files sit beside this module's folder both in the sources and in dist/ (the build copies them).
const AVRO_DIR = new URL('./avro/', import.meta.url)

const FILES: Record<EventType, string> = { behaviour: 'behaviour.avsc', order: 'order.avsc', inventory: 'inventory.avsc' }

/** The Avro schema (parsed JSON) of an event type, as committed in schemas/avro. */
export function avroSchemaJson(type: EventType): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(FILES[type], AVRO_DIR), 'utf8')) as Record<string, unknown>
}

const types = new Map<EventType, avro.Type>()

/** The avsc Type of an event type (cached). */
export function avroType(type: EventType): avro.Type {
  let t = types.get(type)
  if (!t) {
    t = avro.Type.forSchema(avroSchemaJson(type) as avro.Schema)
    types.set(type, t)
  }
  return t
}

/** Maps an Avro record's full name (`streamcube.OrderEvent`) back to its event type. */
export function eventTypeOfAvroName(name: string | undefined): EventType | undefined {
  for (const [type, def] of Object.entries(EventTypes)) if (def.avroName === name) return type as EventType
  return undefined
}

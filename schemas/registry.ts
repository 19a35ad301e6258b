import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import avro from 'avsc'
import { avroSchemaJson } from './avro.js'
import type { EventType } from './events.js'

/**
 * Where Confluent schema ids come from. Without a registry, streamcube uses fixed local ids
 * (LOCAL_SCHEMA_IDS) agreed by its producers and consumers; with one, ids are registered under the
 * topic's `<topic>-value` subject and writer schemas are fetched by id.
 */
export interface SchemaRegistryClient {
  /** The writer schema for `id`; undefined when the registry does not know the id (404). Throws when unreachable. */
  fetch(id: number): Promise<avro.Type | undefined>
  /** Registers the event type's schema under `subject` and returns its id. */
  register(type: EventType, subject: string): Promise<number>
}

/** The ids used when no schema registry is configured. */
export const LOCAL_SCHEMA_IDS: Readonly<Record<EventType, number>> = Object.freeze({ behaviour: 1, order: 2, inventory: 3 })

function statusOf(err: unknown): number | undefined {
  const s = (err as { status?: unknown }).status
  return typeof s === 'number' ? s : undefined
}

/** A Confluent-compatible registry client over @kafkajs/confluent-schema-registry. */
export function createConfluentRegistry(url: string): SchemaRegistryClient {
  const registry = new SchemaRegistry({ host: url })
  return {
    async fetch(id) {
      try {
        const schema = await registry.getSchema(id)
        // The library builds an avsc Type for Avro schemas; rebuild from its JSON so our avsc copy owns it.
        const json = (schema as unknown as { schema?: () => unknown }).schema?.()
        return json ? avro.Type.forSchema(json as avro.Schema) : (schema as unknown as avro.Type)
      } catch (err) {
        if (statusOf(err) === 404) return undefined
        throw err
      }
    },
    async register(type, subject) {
      const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(avroSchemaJson(type)) }, { subject })
      return id
    },
  }
}

import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { avroSchemaJson, EventTypes, EVENT_TYPES } from '../../../schemas/index.js'

// A neutral description of a field's type, derived from either side.
type Desc =
  | { kind: 'string' | 'int' | 'double' }
  | { kind: 'enum'; symbols: string[] }
  | { kind: 'array'; items: Desc }
  | { kind: 'record'; fields: Record<string, Desc & { nullable: boolean }> }

type Field = Desc & { nullable: boolean }

interface ZodInternals {
  _zod: { def: { type: string; format?: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; element?: z.ZodType; entries?: Record<string, string> } }
}

function fromZod(schema: z.ZodType): Field {
  const { def } = (schema as unknown as ZodInternals)._zod
  switch (def.type) {
    case 'default':
      return fromZod(def.innerType as z.ZodType)
    case 'nullable':
      return { ...fromZod(def.innerType as z.ZodType), nullable: true }
    case 'string':
      return { kind: 'string', nullable: false }
    case 'number':
      // z.int() is a number with the `safeint` format; z.number() has none.
      return { kind: def.format?.includes('int') ? 'int' : 'double', nullable: false }
    case 'enum':
      return { kind: 'enum', symbols: Object.values(def.entries ?? {}), nullable: false }
    case 'array':
      return { kind: 'array', items: strip(fromZod(def.element as z.ZodType)), nullable: false }
    case 'object':
      return { kind: 'record', fields: Object.fromEntries(Object.entries(def.shape ?? {}).map(([k, v]) => [k, fromZod(v)])), nullable: false }
    default:
      throw new Error(`unhandled zod type ${def.type}`)
  }
}

type AvroType = string | AvroType[] | { type: string; symbols?: string[]; items?: AvroType; fields?: { name: string; type: AvroType; default?: unknown }[]; logicalType?: string }

function fromAvro(t: AvroType): Field {
  if (Array.isArray(t)) {
    const nonNull = t.filter((x) => x !== 'null')
    expect(nonNull).toHaveLength(1)
    return { ...fromAvro(nonNull[0] as AvroType), nullable: t.includes('null') }
  }
  if (typeof t === 'string') {
    if (t === 'string') return { kind: 'string', nullable: false }
    if (t === 'int' || t === 'long') return { kind: 'int', nullable: false }
    if (t === 'double' || t === 'float') return { kind: 'double', nullable: false }
    throw new Error(`unhandled avro type ${t}`)
  }
  switch (t.type) {
    case 'enum':
      return { kind: 'enum', symbols: t.symbols ?? [], nullable: false }
    case 'array':
      return { kind: 'array', items: strip(fromAvro(t.items as AvroType)), nullable: false }
    case 'record':
      return { kind: 'record', fields: Object.fromEntries((t.fields ?? []).map((f) => [f.name, fromAvro(f.type)])), nullable: false }
    default:
      return fromAvro(t.type as AvroType)
  }
}

function strip(f: Field): Desc {
  const { nullable: _n, ...rest } = f
  return rest as Desc
}

describe('the Avro schemas describe the zod contracts exactly', () => {
  for (const type of EVENT_TYPES) {
    it(`${type}: same fields, types, enum symbols and optionality`, () => {
      const zodSide = fromZod(EventTypes[type].schema as unknown as z.ZodType)
      const avroSide = fromAvro(avroSchemaJson(type) as AvroType)
      expect(avroSide).toEqual(zodSide)
    })

    it(`${type}: every nullable Avro field defaults to null, so old writers stay readable`, () => {
      const schema = avroSchemaJson(type) as { fields: { name: string; type: AvroType; default?: unknown }[] }
      for (const f of schema.fields) if (Array.isArray(f.type)) expect(f, f.name).toHaveProperty('default', null)
    })

    it(`${type}: the record name maps back to the event type`, () => {
      const schema = avroSchemaJson(type) as { name: string; namespace: string }
      expect(`${schema.namespace}.${schema.name}`).toBe(EventTypes[type].avroName)
    })
  }

  it('the parity check itself notices a difference', () => {
    const avroSide = fromAvro(avroSchemaJson('order') as AvroType)
    const zodSide = fromZod(EventTypes.behaviour.schema as unknown as z.ZodType)
    expect(avroSide).not.toEqual(zodSide)
  })
})

import type { z } from 'zod'
import { compileValidator, type CompiledValidator } from '../compiled-validator.js'
import type { RulesContext } from '../events.js'

/*
 * A zod object schema as the JSON fast path reads it (json-scan.ts): its fields, flat, with their
 * kinds, bounds, enum values and nested shapes, compiled from the schema's own definition. A schema
 * that uses anything else throws Unsupported here, and its event type has no fast path.
 */

export const Kind = { string: 0, enum: 1, int: 2, number: 3, checkedString: 4, object: 5, array: 6 } as const
export type Kind = (typeof Kind)[keyof typeof Kind]

interface ZodInternals {
  readonly def: Record<string, unknown> & { type: string; checks?: readonly ZodCheck[] }
}
export interface ZodCheck {
  readonly _zod: { readonly def: Record<string, unknown> & { check: string }; check(payload: { value: unknown; issues: unknown[] }): unknown }
}
export const defOf = (schema: unknown): ZodInternals['def'] => (schema as { _zod: ZodInternals })._zod.def

/** A schema the scanner does not read: the event type keeps the slow path alone. */
export class Unsupported extends Error {}

export interface ScanField {
  readonly name: string
  readonly key: Buffer
  readonly kind: Kind
  readonly nullable: boolean
  readonly min: number
  readonly max: number
  /** enum: the values, and their bytes. */
  readonly values: readonly string[]
  readonly valueBytes: readonly Buffer[]
  /** checkedString: the field's own schema, compiled. */
  readonly check: CompiledValidator | null
  /** object, array (of objects): the element's shape. */
  readonly shape: Shape | null
}

export type Rules = (view: never, ctx: RulesContext) => void

/** An object schema as the scanner reads it. */
export class Shape {
  readonly index = new Map<string, number>()
  // The fields' kinds, bounds and keys, flat, for the scanning loop.
  readonly kinds: Uint8Array
  readonly nullable: Uint8Array
  readonly min: Float64Array
  readonly max: Float64Array
  readonly keys: readonly Buffer[]
  constructor(
    readonly fields: readonly ScanField[],
    /** The object's own custom checks (superRefine), run on a view. */
    readonly checks: readonly ZodCheck[],
    /** The same checks as a function of their own (the event's rules): called directly, not through zod. */
    readonly rules: Rules | null = null,
  ) {
    fields.forEach((f, i) => this.index.set(f.name, i))
    this.kinds = Uint8Array.from(fields, (f) => f.kind)
    this.nullable = Uint8Array.from(fields, (f) => (f.nullable ? 1 : 0))
    this.min = Float64Array.from(fields, (f) => f.min)
    this.max = Float64Array.from(fields, (f) => f.max)
    this.keys = fields.map((f) => f.key)
  }
}

function bounds(checks: readonly ZodCheck[], lower: string, upper: string): { min: number; max: number; rest: ZodCheck[] } {
  let min = Number.NEGATIVE_INFINITY
  let max = Number.POSITIVE_INFINITY
  const rest: ZodCheck[] = []
  for (const c of checks) {
    const d = c._zod.def
    if (d.check === lower) min = Math.max(min, (d.minimum ?? d.value) as number)
    else if (d.check === upper) max = Math.min(max, (d.maximum ?? d.value) as number)
    else rest.push(c)
    // A strict bound (greater_than without inclusive) is not compiled: not sure, so zod decides.
    if ((d.check === 'greater_than' || d.check === 'less_than') && !d.inclusive) throw new Unsupported('a strict bound')
  }
  return { min, max, rest }
}

function field(name: string, schema: unknown): ScanField {
  let def = defOf(schema)
  let nullable = false
  let inner: unknown = schema
  if (def.type === 'default') {
    if (def.defaultValue !== null) throw new Unsupported('a default other than null')
    inner = def.innerType
    def = defOf(inner)
    if (def.type !== 'nullable') throw new Unsupported('a default without nullable')
  }
  if (def.type === 'nullable') {
    if (def.checks?.length) throw new Unsupported('nullable checks')
    nullable = true
    inner = def.innerType
    def = defOf(inner)
  }
  const base = { name, key: Buffer.from(name), nullable, values: [] as string[], valueBytes: [] as Buffer[], check: null, shape: null }
  const checks = def.checks ?? []
  switch (def.type) {
    case 'string': {
      const { min, max, rest } = bounds(checks, 'min_length', 'max_length')
      if (rest.length === 0 && def.format === undefined) return { ...base, kind: Kind.string, min, max }
      const check = compileValidator(inner as z.ZodType)
      if (!check) throw new Unsupported(`string ${name}`)
      return { ...base, kind: Kind.checkedString, min, max, check }
    }
    case 'number': {
      const { min, max, rest } = bounds(checks, 'greater_than', 'less_than')
      if (rest.length > 0) throw new Unsupported(`number checks of ${name}`)
      if (def.format === 'safeint') return { ...base, kind: Kind.int, min, max }
      if (def.format !== undefined) throw new Unsupported(String(def.format))
      return { ...base, kind: Kind.number, min, max }
    }
    case 'enum': {
      if (checks.length > 0) throw new Unsupported('enum checks')
      const values = Object.values(def.entries as Record<string, unknown>)
      if (!values.every((v) => typeof v === 'string' && /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(v))) throw new Unsupported('an enum of other than plain ASCII strings')
      const strings = values as string[]
      return { ...base, kind: Kind.enum, min: 0, max: 0, values: strings, valueBytes: strings.map((v) => Buffer.from(v)) }
    }
    case 'object':
      return { ...base, kind: Kind.object, min: 0, max: 0, shape: shapeOf(inner) }
    case 'array': {
      const { min, max, rest } = bounds(checks, 'min_length', 'max_length')
      if (rest.length > 0) throw new Unsupported('array checks')
      if (defOf(def.element).type !== 'object') throw new Unsupported('an array of other than objects')
      return { ...base, kind: Kind.array, min, max, shape: shapeOf(def.element) }
    }
    default:
      throw new Unsupported(def.type)
  }
}

export function shapeOf(schema: unknown, rules: Rules | null = null): Shape {
  const def = defOf(schema)
  if (def.type !== 'object' || def.catchall !== undefined) throw new Unsupported('not a plain object')
  const shape = def.shape as Record<string, unknown>
  const checks = def.checks ?? []
  for (const c of checks) if (c._zod.def.check !== 'custom' || c._zod.def.when !== undefined) throw new Unsupported('an object check')
  return new Shape(
    Object.keys(shape).map((k) => field(k, shape[k])),
    checks,
    rules,
  )
}

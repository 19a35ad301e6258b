import type { z } from 'zod'

/*
 * A validator compiled from a zod schema, for the hot path: the same contract, without zod's
 * per-field payload objects and check loops. It only ever says "valid, and here is what zod would
 * have returned" or "not sure": on INVALID the caller runs zod itself, which then finds the error
 * and words it. So zod stays the one source of the rules and of every error message; this is a
 * faster way to reach zod's answer for the records that are valid.
 *
 * Compiled: objects (unknown keys stripped, as zod does), strings with length and regex checks,
 * finite numbers and safe integers with bounds, enums, arrays with length checks, nullable and
 * defaulted (to a primitive) fields. Custom checks (refine, superRefine) run through zod's own
 * check function. Any other schema or check kind makes compileValidator return null: zod alone.
 * tests/unit/schemas/compiled-validator.test.ts holds its answers equal to zod's.
 */

/** "Not sure": the caller must ask zod. */
export const INVALID: unique symbol = Symbol('invalid')

export type CompiledValidator = (input: unknown) => unknown

interface Internals {
  readonly def: Record<string, unknown> & { type: string; checks?: readonly Check[] }
}
interface Check {
  readonly _zod: { readonly def: Record<string, unknown> & { check: string }; check(payload: { value: unknown; issues: unknown[] }): unknown }
}
const internals = (schema: unknown): Internals => (schema as { _zod: Internals })._zod

type Node = (value: unknown) => unknown

/** Compiles a zod schema, or returns null when it uses anything this compiler does not know. */
export function compileValidator(schema: z.ZodType): CompiledValidator | null {
  try {
    return node(schema)
  } catch (err) {
    if (err instanceof Unsupported) {
      return null
    }
    throw err
  }
}

class Unsupported extends Error {}

function node(schema: unknown): Node {
  const { def } = internals(schema)
  const checks = def.checks ?? []
  switch (def.type) {
    case 'string':
      if (def.format !== undefined && def.format !== 'regex') throw new Unsupported(String(def.format))
      return withChecks(checks, (v) => typeof v === 'string', (v) => (v as string).length)
    case 'number': {
      const integer = def.format === 'safeint'
      if (def.format !== undefined && !integer) throw new Unsupported(String(def.format))
      return withChecks(checks, integer ? (v) => Number.isSafeInteger(v) : (v) => typeof v === 'number' && Number.isFinite(v), null)
    }
    case 'enum': {
      if (checks.length > 0) throw new Unsupported('enum checks')
      const values = new Set(Object.values(def.entries as Record<string, unknown>))
      return (v) => (values.has(v) ? v : INVALID)
    }
    case 'nullable': {
      if (checks.length > 0) throw new Unsupported('nullable checks')
      const inner = node(def.innerType)
      return (v) => (v === null ? null : inner(v))
    }
    case 'default': {
      if (checks.length > 0) throw new Unsupported('default checks')
      const fallback = def.defaultValue
      if (fallback !== null && typeof fallback === 'object') throw new Unsupported('an object default')
      const inner = node(def.innerType)
      return (v) => (v === undefined ? fallback : inner(v))
    }
    case 'array': {
      const element = node(def.element)
      const list: Node = (v) => {
        if (!Array.isArray(v)) return INVALID
        const out = new Array<unknown>(v.length)
        for (let i = 0; i < v.length; i++) {
          const x = element(v[i])
          if (x === INVALID) return INVALID
          out[i] = x
        }
        return out
      }
      return withChecks(checks, () => true, (v) => (v as unknown[]).length, list)
    }
    case 'object': {
      if (def.catchall !== undefined) throw new Unsupported('catchall')
      const shape = def.shape as Record<string, unknown>
      const keys = Object.keys(shape)
      const fields = keys.map((k) => node(shape[k]))
      const object: Node = (v) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return INVALID
        const input = v as Record<string, unknown>
        const out: Record<string, unknown> = {}
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i] as string
          const x = (fields[i] as Node)(input[key])
          if (x === INVALID) return INVALID
          out[key] = x
        }
        return out
      }
      return withChecks(checks, () => true, null, object)
    }
    default:
      throw new Unsupported(def.type)
  }
}

/**
 * A node that checks the type, then the schema's checks, in order: lengths and bounds inline,
 * regexes, and custom checks through zod's own check function (one issue = INVALID).
 */
function withChecks(checks: readonly Check[], typeOk: (v: unknown) => boolean, length: ((v: unknown) => number) | null, inner: Node = (v) => v): Node {
  const tests = checks.map((c): ((v: unknown) => boolean) => {
    const d = c._zod.def
    // zod's length and bound checks carry a `when` (skip a value without a length, say); the node's
    // type test has passed before they run, so they always apply here. A custom one must not.
    if (d.when !== undefined && d.check === 'custom') throw new Unsupported('a conditional custom check')
    switch (d.check) {
      case 'min_length': {
        if (!length) throw new Unsupported('min_length')
        const min = d.minimum as number
        return (v) => length(v) >= min
      }
      case 'max_length': {
        if (!length) throw new Unsupported('max_length')
        const max = d.maximum as number
        return (v) => length(v) <= max
      }
      case 'greater_than': {
        const bound = d.value as number
        return d.inclusive ? (v) => (v as number) >= bound : (v) => (v as number) > bound
      }
      case 'less_than': {
        const bound = d.value as number
        return d.inclusive ? (v) => (v as number) <= bound : (v) => (v as number) < bound
      }
      case 'string_format': {
        if (d.format !== 'regex') throw new Unsupported(`string format ${String(d.format)}`)
        const pattern = d.pattern as RegExp
        return (v) => {
          pattern.lastIndex = 0
          return pattern.test(v as string)
        }
      }
      case 'custom':
        return (v) => {
          const payload = { value: v, issues: [] as unknown[] }
          // An async check cannot decide here: not sure, so zod decides (and refuses it in a sync parse).
          if (c._zod.check(payload) instanceof Promise) return false
          return payload.issues.length === 0
        }
      default:
        throw new Unsupported(`check ${d.check}`)
    }
  })
  return (v) => {
    if (!typeOk(v)) return INVALID
    const out = inner(v)
    if (out === INVALID) return INVALID
    // Checks see what zod's checks see: the parsed value (an object's stripped, defaulted copy).
    for (const test of tests) if (!test(out)) return INVALID
    return out
  }
}

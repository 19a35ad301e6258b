import { describe, expect, it } from 'vitest'
import { EventGenerator } from '../../../generator/index.js'
import { EventTypes, type EventType } from '../../../schemas/index.js'
import { compileValidator, INVALID } from '../../../schemas/compiled-validator.js'

const TYPES = Object.keys(EventTypes) as EventType[]
const events = new EventGenerator({ seed: 11, start: Date.UTC(2026, 10, 15, 16) }).take(20_000)
const byType = (t: EventType) => events.filter((r) => r.type === t).map((r) => JSON.parse(JSON.stringify(r.event.event)) as Record<string, unknown>)

/** Values a producer gets wrong: absent, null, other types, empty and overlong text, odd numbers. */
const BAD: readonly unknown[] = [undefined, null, '', 'x'.repeat(600), 0, -1, 1.5, 1e20, -1e20, Number.NaN, Number.POSITIVE_INFINITY, true, {}, [], [1], ['x'], '2026-02-30', '2026-11-16', 'view', 'created', 'receipt', 'nope']

/** Every input once with each field (top level and one level into objects and arrays) replaced by each bad value, deleted, or with an extra key. */
function* mutations(e: Record<string, unknown>): Generator<unknown> {
  for (const key of Object.keys(e)) {
    for (const bad of BAD) yield { ...e, [key]: bad }
    const { [key]: _, ...without } = e
    yield without
    const inner = e[key]
    const first = Array.isArray(inner) ? inner[0] : inner
    if (first && typeof first === 'object') {
      for (const k of Object.keys(first)) {
        for (const bad of BAD) {
          const changed = { ...(first as Record<string, unknown>), [k]: bad }
          yield { ...e, [key]: Array.isArray(inner) ? [changed, ...inner.slice(1)] : changed }
        }
      }
    }
  }
  yield { ...e, unknownField: 1 }
  yield [e]
  yield null
  yield 'text'
}

// The compiled validator must reach zod's answer: the same output for every valid record, and
// "not sure" (zod then decides and words the error) for every record zod refuses.
describe('the compiled validator', () => {
  it.each(TYPES)('compiles the %s schema', (t) => {
    expect(compileValidator(EventTypes[t].schema)).not.toBeNull()
  })

  it.each(TYPES)('returns what zod returns for every generated %s event', (t) => {
    const fast = compileValidator(EventTypes[t].schema)!
    const schema = EventTypes[t].schema
    for (const e of byType(t)) expect(fast(e)).toStrictEqual(schema.parse(e))
  })

  it.each(TYPES)('accepts exactly what zod accepts among mutated %s events, with the same output', (t) => {
    const fast = compileValidator(EventTypes[t].schema)!
    const schema = EventTypes[t].schema
    let accepted = 0
    let refused = 0
    for (const e of byType(t).slice(0, 40)) {
      for (const input of mutations(e)) {
        const z = schema.safeParse(input)
        const f = fast(input)
        if (z.success) {
          accepted++
          expect(f, JSON.stringify(input)).toStrictEqual(z.data)
        } else {
          refused++
          expect(f, JSON.stringify(input)).toBe(INVALID)
        }
      }
    }
    // The mutations exercise both sides.
    expect(accepted).toBeGreaterThan(100)
    expect(refused).toBeGreaterThan(1000)
  })

  it('refuses a schema it does not know rather than guess', async () => {
    const { z } = await import('zod')
    expect(compileValidator(z.object({ a: z.string().email() }))).toBeNull()
    expect(compileValidator(z.object({ a: z.union([z.string(), z.number()]) }))).toBeNull()
    expect(compileValidator(z.object({ a: z.string() }).catchall(z.number()))).toBeNull()
  })
})

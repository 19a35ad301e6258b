import { INVALID, type CompiledValidator } from '../compiled-validator.js'
import { EventTypes, type EventType, type RulesContext } from '../events.js'
import { checkEventTime, DEFAULT_TIME_BOUNDS, type TimeBounds } from '../validate.js'
import { DEFAULT_LIMITS, type CodecLimits } from './codec.js'
import { defOf, Kind, shapeOf, Unsupported, type Rules, type ScanField, type Shape, type ZodCheck } from './json-shape.js'

/*
 * The JSON codec's fast path: one pass over a record's bytes that validates it against its event
 * schema and remembers where each field's value lies, so that the stream row can be written from
 * those bytes (engine/stream-rows.ts) without `JSON.parse`, the object it builds, the validator's
 * copy of it, `JSON.stringify` of the row and the UTF-8 encoding of that text (issue 17: those were
 * ≈ 3.5 s of the worker's 10.7 s of busy JS on the side-by-side bench).
 *
 * Like the compiled validator, it only ever says "valid, and here is what the slow path would have
 * produced" or "not sure": `scan` returns false for anything outside the plain case, and the codec's
 * slow path (JSON.parse, zod) then decides and words the error. Not sure, by design: an unknown or
 * repeated key, an escape sequence in a string, a number in any but the shortest integer form where
 * an integer is due (`1.0`, `1e3`), more than 15 digits, a value of the wrong type, a missing
 * required field, a failed check. The scanner is compiled from the zod schema itself (objects,
 * arrays of objects, strings with lengths, enums, safe integers and numbers with bounds, nullable
 * fields defaulting to null: json-shape.ts); strings with a pattern or a custom check are read into a
 * string and checked by the compiled validator; the event's cross-field rules (the function its
 * superRefine calls, events.ts) run on a view that reads a field only when a rule asks for it. zod
 * stays the one source of the rules. tests/unit/schemas/json-scan.test.ts holds its answers and the
 * rows written from them equal to the slow path's, on generated events and on mutations of them.
 */

/** A field's value as scanned: absent (only before the end of its object), null, or a value. */
export const Slot = { absent: 0, null: 1, value: 2 } as const

/** Where the fields of one scanned object lie (reused from record to record). */
export class Slots {
  readonly state: Uint8Array
  readonly start: Int32Array
  readonly end: Int32Array
  /** int and number: the value; enum: the value's index. */
  readonly num: Float64Array
  /** 1: a number whose token is not how JavaScript prints it (the row writer prints the value). */
  readonly print: Uint8Array
  /** object fields: their own slots; array fields: one per element, `count` used. */
  readonly objects: (Slots | null)[]
  readonly elements: (Slots[] | null)[]
  readonly count: Int32Array
  private view: object | null = null
  /** The record the view reads. */
  private buf: Buffer | null = null

  constructor(readonly shape: Shape) {
    const n = shape.fields.length
    this.state = new Uint8Array(n)
    this.start = new Int32Array(n)
    this.end = new Int32Array(n)
    this.num = new Float64Array(n)
    this.print = new Uint8Array(n)
    this.count = new Int32Array(n)
    this.objects = shape.fields.map((f) => (f.kind === Kind.object ? new Slots(f.shape as Shape) : null))
    this.elements = shape.fields.map((f) => (f.kind === Kind.array ? [] : null))
  }

  /** The i-th element's slots of an array field (made on first use). */
  element(field: number, i: number): Slots {
    const list = this.elements[field] as Slots[]
    while (list.length <= i) list.push(new Slots(this.shape.fields[field]!.shape as Shape))
    return list[i] as Slots
  }

  /** A field's value as the slow path's parsed object would hold it (strings are read here). */
  value(buf: Buffer, i: number): unknown {
    if (this.state[i] !== Slot.value) return null
    const f = this.shape.fields[i] as ScanField
    switch (f.kind) {
      case Kind.string:
      case Kind.checkedString:
        return buf.toString('utf8', (this.start[i] as number) + 1, (this.end[i] as number) - 1)
      case Kind.enum:
        return f.values[this.num[i] as number]
      case Kind.int:
      case Kind.number:
        return this.num[i]
      case Kind.object:
        return (this.objects[i] as Slots).plain(buf)
      default: {
        const out: unknown[] = []
        for (let k = 0; k < (this.count[i] as number); k++) out.push(this.element(i, k).plain(buf))
        return out
      }
    }
  }

  /** The whole object, as the slow path would have produced it. */
  plain(buf: Buffer): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    this.shape.fields.forEach((f, i) => (out[f.name] = this.value(buf, i)))
    return out
  }

  /** An object whose properties read this object's fields when asked (for the custom checks). */
  viewOf(buf: Buffer): object {
    if (!this.view) {
      const view: Record<string, unknown> = {}
      this.shape.fields.forEach((f, i) => Object.defineProperty(view, f.name, { enumerable: true, get: () => this.value(this.buf as Buffer, i) }))
      this.view = view
    }
    this.buf = buf
    return this.view
  }
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i)

/**
 * A scanner for one event type, with the codec's limits and time bounds. `scan(bytes)` is true when
 * the record is a valid event by the plain path; then `eventId`, `eventTime` and `slots` describe it
 * until the next call.
 */
export class JsonEventScanner {
  readonly shape: Shape
  readonly slots: Slots
  eventId = ''
  eventTime = 0
  private readonly idField: number
  private readonly timeField: number
  private issues = 0
  private readonly context: RulesContext = { addIssue: () => void this.issues++ }

  constructor(
    readonly type: EventType,
    private readonly limits: CodecLimits = DEFAULT_LIMITS,
    private readonly bounds: TimeBounds = DEFAULT_TIME_BOUNDS,
  ) {
    // The superRefine of an event schema is its `rules` function: called directly, with a context
    // that only notes an issue (zod's own check would build a payload and a closure per record).
    // (A schema with more checks than its rules runs them all through zod's check functions.)
    const { schema, rules } = EventTypes[type]
    this.shape = shapeOf(schema, defOf(schema).checks?.length === 1 ? (rules as Rules) : null)
    this.slots = new Slots(this.shape)
    this.idField = this.shape.index.get('eventId') ?? -1
    this.timeField = this.shape.index.get('eventTime') ?? -1
    if (this.idField < 0 || this.timeField < 0) throw new Unsupported('no eventId or eventTime')
  }

  /** A scanner for the type, or null when its schema uses something the scanner does not read. */
  static for(type: EventType, limits?: CodecLimits, bounds?: TimeBounds): JsonEventScanner | null {
    try {
      return new JsonEventScanner(type, limits, bounds)
    } catch (err) {
      if (err instanceof Unsupported) return null
      throw err
    }
  }

  /**
   * True: the record in bytes [from, to) of `buf` is a valid event, described by the slots (their
   * positions are in `buf`). False: not sure; the slow path decides.
   *
   * The record may stand inside a larger buffer (the fetch response it came in): the scan reads
   * forward only and accepts only an object that ends at `to`, so a scan that ran past `to` (an
   * unclosed string, a truncated object) declines, whatever the bytes past `to` are.
   */
  scan(buf: Buffer | null, from = 0, to = buf?.length ?? 0): boolean {
    // UTF-8 is checked where it can occur, in the strings (any other byte over 0x7f fails the syntax).
    if (buf === null || to <= from || to - from > this.limits.maxBytes) return false
    let i = this.object(buf, skip(buf, from), this.slots)
    if (i < 0 || i > to) return false
    // Whitespace after the object, up to `to` only (the next bytes of a larger buffer may be any).
    while (i < to && isWhitespace(buf[i] as number)) i++
    if (i !== to) return false
    const s = this.slots
    if (s.state[this.idField] !== Slot.value || s.state[this.timeField] !== Slot.value) return false
    this.eventTime = s.num[this.timeField] as number
    if (!checkEventTime(this.eventTime, 'eventTime', this.bounds).ok) return false
    this.eventId = s.value(buf, this.idField) as string
    return true
  }

  /** Scans an object into `slots` from `i` (at its brace); the index after it, or -1. */
  private object(buf: Buffer, i: number, slots: Slots): number {
    if (buf[i] !== 0x7b) return -1
    const shape = slots.shape
    const keys = shape.keys
    const nf = keys.length
    const n = buf.length
    const state = slots.state
    state.fill(Slot.absent)
    i = skip(buf, i + 1)
    let expected = 0
    if (buf[i] === 0x7d) i++
    else {
      for (;;) {
        if (buf[i] !== 0x22) return -1
        const ks = i + 1
        // Producers usually write the fields in the schema's order: try the next one first, by its bytes.
        let f = -1
        let ke = -1
        if (expected < nf) {
          const key = keys[expected] as Buffer
          const kl = key.length
          if (buf[ks + kl] === 0x22 && ks + kl < n) {
            let k = 0
            while (k < kl && buf[ks + k] === key[k]) k++
            if (k === kl) {
              f = expected
              ke = ks + kl
            }
          }
        }
        if (f < 0) {
          ke = ks
          for (;;) {
            if (ke >= n) return -1
            const c = buf[ke] as number
            if (c === 0x22) break
            if (c === 0x5c || c < 0x20) return -1
            ke++
          }
          for (let k = 0; k < nf; k++) if (keyIs(buf, ks, ke, keys[k] as Buffer)) f = k
          if (f < 0) return -1
        }
        if (state[f] !== Slot.absent) return -1
        expected = f + 1
        i = ke + 1
        if (buf[i] !== 0x3a) {
          i = skip(buf, i)
          if (buf[i] !== 0x3a) return -1
        }
        i = this.value(buf, skip(buf, i + 1), slots, f)
        if (i < 0) return -1
        let c = buf[i]
        if (c !== 0x2c && c !== 0x7d) {
          i = skip(buf, i)
          c = buf[i]
        }
        if (c === 0x2c) {
          i++
          if (buf[i] !== 0x22) i = skip(buf, i)
          continue
        }
        if (c !== 0x7d) return -1
        i++
        break
      }
    }
    const nullable = shape.nullable
    for (let k = 0; k < nf; k++) {
      if (state[k] !== Slot.absent) continue
      if (nullable[k] === 0) return -1
      state[k] = Slot.null
    }
    if (shape.rules !== null) {
      this.issues = 0
      shape.rules(slots.viewOf(buf) as never, this.context)
      return this.issues === 0 ? i : -1
    }
    const checks = shape.checks
    for (let k = 0; k < checks.length; k++) {
      const payload = { value: slots.viewOf(buf), issues: [] as unknown[] }
      if ((checks[k] as ZodCheck)._zod.check(payload) instanceof Promise || payload.issues.length > 0) return -1
    }
    return i
  }

  private value(buf: Buffer, i: number, slots: Slots, k: number): number {
    const shape = slots.shape
    const kind = shape.kinds[k] as Kind
    const c = buf[i]
    if (c === 0x6e) {
      if (shape.nullable[k] === 0 || buf[i + 1] !== 0x75 || buf[i + 2] !== 0x6c || buf[i + 3] !== 0x6c) return -1
      slots.state[k] = Slot.null
      return i + 4
    }
    slots.start[k] = i
    slots.state[k] = Slot.value
    if (kind === Kind.string || kind === Kind.enum || kind === Kind.checkedString) {
      if (c !== 0x22) return -1
      const n = buf.length
      let j = i + 1
      let units = 0
      for (;;) {
        if (j >= n) return -1
        const b = buf[j] as number
        if (b === 0x22) break
        if (b === 0x5c || b < 0x20) return -1
        // UTF-16 units, as zod counts a string's length: one per character, two beyond the BMP.
        if (b < 0x80) {
          units++
          j++
        } else {
          const len = utf8Sequence(buf, j, n)
          if (len === 0) return -1 // not UTF-8: the slow path says so
          units += len === 4 ? 2 : 1
          j += len
        }
      }
      slots.end[k] = j + 1
      if (kind === Kind.enum) {
        const len = j - i - 1
        const values = (shape.fields[k] as ScanField).valueBytes
        for (let v = 0; v < values.length; v++) {
          const bytes = values[v] as Buffer
          if (bytes.length === len && keyIs(buf, i + 1, j, bytes)) {
            slots.num[k] = v
            return j + 1
          }
        }
        return -1
      }
      if (units < (shape.min[k] as number) || units > (shape.max[k] as number)) return -1
      if (kind === Kind.checkedString && ((shape.fields[k] as ScanField).check as CompiledValidator)(buf.toString('utf8', i + 1, j)) === INVALID) return -1
      return j + 1
    }
    if (kind === Kind.int || kind === Kind.number) {
      const n = buf.length
      let j = i
      const negative = c === 0x2d
      if (negative) {
        if (kind === Kind.int) return -1 // "-0" is not the shortest form; negatives go the slow way
        j++
      }
      let digits = 0
      let m = 0
      let d = j < n ? (buf[j] as number) : -1
      if (d === 0x30) {
        j++
        digits = 1
        d = j < n ? (buf[j] as number) : -1
        if (d >= 0x30 && d <= 0x39) return -1
      } else
        while (d >= 0x30 && d <= 0x39) {
          m = m * 10 + (d - 0x30)
          digits++
          j++
          d = j < n ? (buf[j] as number) : -1
        }
      if (digits === 0) return -1
      let fraction = 0
      if (d === 0x2e) {
        if (kind === Kind.int) return -1
        j++
        d = j < n ? (buf[j] as number) : -1
        while (d >= 0x30 && d <= 0x39) {
          m = m * 10 + (d - 0x30)
          fraction++
          digits++
          j++
          d = j < n ? (buf[j] as number) : -1
        }
        if (fraction === 0) return -1
      }
      if (d === 0x65 || d === 0x45 || digits > 15) return -1
      // Exact: m < 10^15 < 2^53 and 10^fraction (≤ 15) are both exact doubles, and one IEEE
      // division rounds correctly, as JSON.parse does.
      let v = fraction === 0 ? m : m / (POW10[fraction] as number)
      if (negative) v = -v
      if (v < (shape.min[k] as number) || v > (shape.max[k] as number)) return -1
      slots.num[k] = v
      // A number of at most 15 significant digits is the shortest form of the double it parses to
      // (distinct decimals of ≤ 15 digits parse to distinct doubles), so JavaScript prints it as
      // written unless it has a trailing zero in its fraction, is -0, or is small enough to print
      // with an exponent. Those few are printed (the row writer asks `print`).
      slots.print[k] = kind === Kind.number && ((fraction > 0 && buf[j - 1] === 0x30) || (v === 0 && negative) || (v !== 0 && v > -1e-6 && v < 1e-6)) ? 1 : 0
      slots.end[k] = j
      return j
    }
    if (kind === Kind.object) {
      const j = this.object(buf, i, slots.objects[k] as Slots)
      slots.end[k] = j
      return j
    }
    // An array of objects.
    if (c !== 0x5b) return -1
    let j = skip(buf, i + 1)
    let count = 0
    if (buf[j] === 0x5d) j++
    else
      for (;;) {
        j = this.object(buf, j, slots.element(k, count))
        if (j < 0) return -1
        count++
        j = skip(buf, j)
        if (buf[j] === 0x2c) {
          j = skip(buf, j + 1)
          continue
        }
        if (buf[j] !== 0x5d) return -1
        j++
        break
      }
    if (count < (shape.min[k] as number) || count > (shape.max[k] as number)) return -1
    slots.count[k] = count
    slots.end[k] = j
    return j
  }
}

/**
 * The length of the well-formed UTF-8 sequence that starts at `i` with a byte over 0x7f (RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF), or 0.
 */
function utf8Sequence(buf: Buffer, i: number, n: number): number {
  const b = buf[i] as number
  const c1 = i + 1 < n ? (buf[i + 1] as number) : 0
  if (b >= 0xc2 && b <= 0xdf) return c1 >= 0x80 && c1 <= 0xbf ? 2 : 0
  const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80
  const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf
  if (c1 < lo || c1 > hi) return 0
  const c2 = i + 2 < n ? (buf[i + 2] as number) : 0
  if (c2 < 0x80 || c2 > 0xbf) return 0
  if (b >= 0xe0 && b <= 0xef) return 3
  if (b < 0xf0 || b > 0xf4) return 0
  const c3 = i + 3 < n ? (buf[i + 3] as number) : 0
  return c3 >= 0x80 && c3 <= 0xbf ? 4 : 0
}

const isWhitespace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/** The index of the first byte at or after `i` that is not JSON whitespace. */
function skip(buf: Buffer, i: number): number {
  const n = buf.length
  while (i < n && isWhitespace(buf[i] as number)) i++
  return i
}

function keyIs(buf: Buffer, start: number, end: number, key: Buffer): boolean {
  if (end - start !== key.length) return false
  for (let k = 0; k < key.length; k++) if (buf[start + k] !== key[k]) return false
  return true
}


import { describe, expect, it } from 'vitest'
import { AlertRuleSchema, type AlertState } from '../../../queries/index.js'
import { dynamicCondition, initialState, staticCondition, step, windowRange, type Evaluation } from '../../../jobs/index.js'
import { localMidnight } from '../../../schemas/index.js'

const MIN = 60_000
const rule = { forSeconds: 120, repeatSeconds: 600 }
const ev = (value: number | null, threshold = 10, recovery = 6, error?: string): Evaluation =>
  error !== undefined ? { value: null, breach: false, recovered: false, threshold, error } : value === null ? { value: null, breach: false, recovered: false, threshold } : { value, threshold, ...staticCondition('>', threshold, recovery, value) }

function run(values: (number | null | 'error')[]): { kinds: string[]; last: AlertState } {
  let s = initialState('r', 'g', 0)
  const kinds: string[] = []
  values.forEach((v, i) => {
    const out = step(s, v === 'error' ? ev(null, 10, 6, 'boom') : ev(v), rule, (i + 1) * MIN)
    s = out.next
    kinds.push(...out.transitions.map((t) => `${i + 1}:${t.kind}${t.notify ? '!' : ''}`))
  })
  return { kinds, last: s }
}

describe('alert state machine', () => {
  it('fires only after the condition held for forSeconds, once, and resolves once past the recovery threshold', () => {
    const { kinds, last } = run([5, 11, 12, 13, 9, 7, 8, 5, 4])
    expect(kinds).toEqual(['2:pending', '4:firing!', '8:resolved!'])
    expect(last).toMatchObject({ status: 'inactive', firing: false, episode: 1 })
  })

  it('a breach shorter than forSeconds goes pending and back without notifying', () => {
    expect(run([11, 12, 5, 11, 5]).kinds).toEqual(['1:pending', '3:inactive', '4:pending', '5:inactive'])
  })

  it('oscillation between the recovery and firing thresholds changes nothing, firing or not', () => {
    expect(run([11, 11, 11, 7, 9, 7, 10, 8]).kinds).toEqual(['1:pending', '3:firing!'])
    expect(run([7, 9, 8, 10, 7]).kinds).toEqual([])
  })

  it('repeats a still-firing alert every repeatSeconds with its own key', () => {
    let s = initialState('r', 'g', 0)
    const keys: string[] = []
    for (let i = 1; i <= 16; i++) {
      const out = step(s, ev(20), rule, i * MIN)
      s = out.next
      keys.push(...out.transitions.filter((t) => t.notify).map((t) => t.key))
    }
    expect(keys).toEqual(['r|g|firing|1', 'r|g|repeat|1|1'])
  })

  it('no data and errors neither fire nor resolve; the episode stays open', () => {
    const { kinds, last } = run([11, 11, 11, null, 'error', 'error', 5])
    expect(kinds).toEqual(['1:pending', '3:firing!', '4:nodata', '5:error', '7:resolved!'])
    expect(last.episode).toBe(1)
    expect(run([11, null, 11, 11]).kinds).toEqual(['1:pending', '2:nodata', '3:pending'])
  })

  it('the next episode gets the next key', () => {
    const { kinds, last } = run([11, 11, 11, 5, 11, 11, 11])
    expect(kinds).toEqual(['1:pending', '3:firing!', '4:resolved!', '5:pending', '7:firing!'])
    expect(last.episode).toBe(2)
  })
})

describe('dynamic condition', () => {
  it('fires beyond mean + k·σ, with σ no smaller than the Poisson noise of the mean', () => {
    const base = [20, 18, 23, 21]
    expect(dynamicCondition({ direction: 'above', k: 3 }, base, 60).breach).toBe(true)
    expect(dynamicCondition({ direction: 'above', k: 3 }, base, 30).breach).toBe(false)
    const flat = dynamicCondition({ direction: 'above', k: 3 }, [100, 100, 100], 115)
    expect(flat.sigma).toBeCloseTo(10, 9)
    expect(flat.breach).toBe(false)
    expect(dynamicCondition({ direction: 'below', pct: 50 }, [100, 100], 40).breach).toBe(true)
    expect(dynamicCondition({ direction: 'both', pct: 50, recoveryPct: 20 }, [100, 100], 130)).toMatchObject({ breach: false, recovered: false })
  })
})

describe('windows and rules', () => {
  it('windows are closed minutes and hours; today starts at local midnight', () => {
    const ref = Date.parse('2026-11-24T10:37:20Z')
    expect(windowRange({ kind: 'last', minutes: 15 }, ref, 'UTC')).toEqual({ from: Date.parse('2026-11-24T10:22:00Z'), to: Date.parse('2026-11-24T10:37:00Z') })
    expect(windowRange({ kind: 'closed_hour' }, ref, 'UTC')).toEqual({ from: Date.parse('2026-11-24T09:00:00Z'), to: Date.parse('2026-11-24T10:00:00Z') })
    expect(localMidnight(ref, 'Asia/Shanghai')).toBe(Date.parse('2026-11-23T16:00:00Z'))
  })

  it('a rule names every bad field', () => {
    const bad = AlertRuleSchema.safeParse({
      id: 'x', name: 'x', metric: 'active_users', filters: { leader: ['l-1'] }, groupBy: 'leader', window: { kind: 'today' },
      condition: { type: 'static', op: '>', threshold: 10, recovery: 12 },
    })
    expect(bad.success).toBe(false)
    const paths = bad.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? []
    expect(paths).toEqual(expect.arrayContaining([
      expect.stringMatching(/^condition\.recovery: must lie on the resolved side/),
    ]))
    const dims = AlertRuleSchema.safeParse({ id: 'x', name: 'x', metric: 'active_users', filters: { leader: ['l-1'] }, groupBy: 'leader', window: { kind: 'today' }, condition: { type: 'static', op: '>', threshold: 10 } })
    expect(dims.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'filters.leader: metric active_users has no leader dimension (it has: community)',
      'groupBy: metric active_users cannot be grouped by leader',
    ])
    const dyn = AlertRuleSchema.safeParse({ id: 'x', name: 'x', metric: 'orders', window: { kind: 'today' }, condition: { type: 'dynamic' } })
    expect(dyn.error?.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['condition.k']))
  })
})

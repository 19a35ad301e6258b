import { beforeAll, describe, expect, it } from 'vitest'
import { EXAMPLE_RULES_FILE } from '../../../cli/commands/demo.js'
import { EventGenerator, fillBaselineWeeks, runGeneratorSource } from '../../../generator/index.js'
import { AlertEvaluator } from '../../../jobs/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { applyRules, readRuleFile } from '../../../queries/index.js'
import { openSecondConnection, testDatabase } from '../../services/clickhouse.js'
import { RECENT_START, silent } from '../engine/harness.js'

/*
 * The example rules `npm start` ships, on what `npm start` generates (the city from 08:00 local
 * time, and the same hours one and two weeks back): stepping the evaluator minute by minute, a
 * newcomer sees alerts go pending, fire and resolve within minutes, the dynamic baseline has its
 * weeks, and the data-quality rules stay quiet on clean data.
 */

const MIN = 60_000
const HOUR = 3_600_000
const START = RECENT_START + 8 * HOUR // 08:00 in Hangzhou
const END = START + 3 * HOUR

describe('the example alert rules on the generated city', () => {
  const ch = testDatabase('alert_examples')
  beforeAll(async () => {
    const signal = new AbortController().signal
    const base = { pipelines: PIPELINES, ch, log: silent, signal, watermarkGroup: 'demo' }
    expect(await fillBaselineWeeks({ ...base, seed: 42, from: START, to: END, weeks: 2 })).toBeGreaterThan(1000)
    await runGeneratorSource({ ...base, generator: new EventGenerator({ seed: 42, start: START }), intervalMs: 1, now: () => END, until: END })
  }, 240_000)

  it('go pending, firing and resolved within minutes, each transition through the log notifier', async () => {
    const rules = readRuleFile(EXAMPLE_RULES_FILE)
    expect(await applyRules(ch, rules, `file:${EXAMPLE_RULES_FILE}`)).toBe(rules.length)
    const logged: { rule: string; kind: string }[] = []
    // The log notifier writes one warning per notification, its key and status (Alertmanager's).
    const log = Object.assign(Object.create(silent), {
      child: () => log,
      warn: (obj: { alert?: { key: string; status: string } }) => {
        if (obj.alert) logged.push({ rule: obj.alert.key.split('|')[0] as string, kind: obj.alert.status })
      },
    })
    const ev = new AlertEvaluator({
      ch: await openSecondConnection(ch), log, instance: 'examples', intervalMs: MIN, timezone: 'Asia/Shanghai', lateDeliveryMinutes: 240,
      webhookTimeoutMs: 1000, webhookRetry: { initialMs: 10, maxMs: 10, factor: 1, maxElapsedMs: 0 }, now: () => END,
    })
    const seen: Record<string, { t: number; kind: string }[]> = {}
    for (let t = 15; t <= 180; t++) {
      const r = await ev.evaluateOnce(START + t * MIN)
      for (const x of r.transitions) (seen[x.key.split('|')[0] as string] ??= []).push({ t, kind: x.kind })
    }
    await ev.drain()
    const busy = seen['example-busy-community'] ?? []
    const kinds = new Set(busy.map((x) => x.kind))
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['firing', 'pending', 'resolved']))
    // Within minutes: the first firing comes soon after the first quarter hour.
    expect(Math.min(...busy.filter((x) => x.kind === 'firing').map((x) => x.t))).toBeLessThan(30)
    // Every firing and resolution went through the log notifier.
    expect(logged.filter((l) => l.rule === 'example-busy-community').map((l) => l.kind).sort()).toEqual(busy.filter((x) => x.kind === 'firing' || x.kind === 'resolved').map((x) => x.kind).sort())
    // The dynamic baseline has its two weeks: it never lacks data (whether an hour's GMV strays 25 %
    // from the same hour of the other weeks depends on the day: it may fire). Clean data trips no
    // quality rule. (The dead-letter rate counts records by arrival time, which here is today, not
    // the replayed ticks of two days ago: it has no data at those ticks, and must not fail or fire.)
    expect((seen['example-gmv-off-baseline'] ?? []).filter((x) => x.kind === 'nodata' || x.kind === 'error')).toEqual([])
    expect((seen['example-pipeline-behind'] ?? []).filter((x) => x.kind === 'nodata' || x.kind === 'error' || x.kind === 'firing')).toEqual([])
    expect((seen['example-dead-letters'] ?? []).filter((x) => x.kind === 'error' || x.kind === 'firing')).toEqual([])
  }, 240_000)

  it('a writer that has completed no window yet (watermark 0, as a worker publishes before it reads) leaves the rules without data, not failing', async () => {
    const pipelines = PIPELINES.map((p) => p.name)
    await ch.client.insert({
      table: 'streamcube_watermarks',
      values: ['generator.behaviour', 'generator.orders', 'generator.inventory'].map((topic) => ({ group_id: 'restarted', topic, partition: 0, watermark: 0, event_watermark: null, idle: 0, worker: 'w', updated_at: Date.now() + 60_000, pipelines })),
      format: 'JSONEachRow',
    })
    const errors: string[] = []
    const log = Object.assign(Object.create(silent), { child: () => log, error: (_o: unknown, m: string) => errors.push(m) })
    const ev = new AlertEvaluator({
      ch: await openSecondConnection(ch), log, instance: 'restart', intervalMs: MIN, timezone: 'Asia/Shanghai', lateDeliveryMinutes: 240,
      webhookTimeoutMs: 1000, webhookRetry: { initialMs: 10, maxMs: 10, factor: 1, maxElapsedMs: 0 }, now: () => END,
    })
    const r = await ev.evaluateOnce(END)
    await ev.drain()
    expect(errors).toEqual([])
    expect(r.transitions.filter((t) => t.kind === 'error')).toEqual([])
    expect(r.transitions.filter((t) => t.rule === 'example-pipeline-behind').map((t) => t.kind)).toEqual(['nodata'])
  })
})

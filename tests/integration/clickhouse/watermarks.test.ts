import { describe, expect, it } from 'vitest'
import { watermarkFor } from '../../../jobs/alerts/evaluator.js'
import { CURRENT_WRITERS, MIN_WATERMARK, PIPELINE_WATERMARKS } from '../../../queries/index.js'
import { insertRows, queryRows } from '../../../sinks/index.js'
import { testDatabase } from '../../services/clickhouse.js'

/*
 * Whose watermark counts (issue 21, migration 0010): a cube's windows are complete up to the
 * watermark of the group writing its pipeline now. A retired group, whose pipelines another
 * group took over, holds nothing back; a group that is down and not replaced still does.
 */

const T = Date.UTC(2026, 11, 1, 12)
const S = 1000

describe('published watermarks: the current writer of each pipeline counts, a retired group does not', () => {
  const ch = testDatabase('wm_readers')

  const row = (group: string, pipelines: string[], partition: number, watermark: number, updated: number) => ({
    group_id: group, topic: 't', partition, watermark, event_watermark: watermark, idle: 0, worker: 'w', updated_at: updated, pipelines,
  })
  const minimum = async () => Number((await queryRows<{ watermark: number }>(ch, MIN_WATERMARK, {}))[0]?.watermark)
  const perPipeline = async () => Object.fromEntries((await queryRows<{ pipeline: string; watermark: number }>(ch, PIPELINE_WATERMARKS, {})).map((r) => [r.pipeline, Number(r.watermark)]))

  it('leaves out a retired group, keeps a stale writer nobody replaced, and counts a group that names no pipelines', async () => {
    // "old" wrote gmv and activity until a minute ago, far behind; "new" took them over.
    await insertRows(ch, 'streamcube_watermarks', [
      row('old', ['gmv', 'activity'], 0, T - 600 * S, T - 60 * S),
      row('old', ['gmv', 'activity'], 1, T - 500 * S, T - 60 * S),
      row('new', ['gmv', 'activity'], 0, T - 20 * S, T - S),
      row('new', ['gmv', 'activity'], 1, T - 10 * S, T - S),
      // inventory's only writer, behind and silent for an hour: its windows are not complete.
      row('inv', ['inventory'], 0, T - 3_700 * S, T - 3_600 * S),
    ])
    const writers = Object.fromEntries((await queryRows<{ pipeline: string; writer: string }>(ch, CURRENT_WRITERS, {})).map((r) => [r.pipeline, r.writer]))
    expect(writers).toEqual({ gmv: 'new', activity: 'new', inventory: 'inv' })
    expect(await perPipeline()).toEqual({ gmv: T - 20 * S, activity: T - 20 * S, inventory: T - 3_700 * S })
    expect(await minimum()).toBe(T - 3_700 * S)

    // Once inventory has a new writer too, nothing is held back by the retired groups.
    await insertRows(ch, 'streamcube_watermarks', [row('inv2', ['inventory'], 0, T - 30 * S, T)])
    expect(await minimum()).toBe(T - 30 * S)
    expect((await perPipeline()).inventory).toBe(T - 30 * S)

    // A worker from before migration 0010 names no pipelines: its group counts as a writer of its own.
    await insertRows(ch, 'streamcube_watermarks', [{ ...row('legacy', [], 0, T - 90 * S, T), pipelines: undefined }])
    expect(await minimum()).toBe(T - 90 * S)
  })

  it('an alert rule waits for the writers of its own cubes, or for every writer when it reads none', () => {
    const w = new Map([['gmv', 100], ['lifecycle', 50], ['', 10]])
    expect(watermarkFor(w, ['gmv'])).toBe(100)
    expect(watermarkFor(w, ['lifecycle', 'gmv'])).toBe(50)
    expect(watermarkFor(w, [])).toBe(10)
    expect(watermarkFor(w, ['inventory'])).toBe(10) // nobody published for it: every writer's
    expect(watermarkFor(new Map(), ['gmv'])).toBeNull()
  })
})

import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const CHILD = new URL('./replay-child.ts', import.meta.url).pathname

/** Runs the child in a process of its own; resolves with the row counts it printed. */
function child(dataDir: string, step: 'migrate' | 'replay'): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', CHILD, dataDir, step], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`))
      else resolve(JSON.parse(stdout) as Record<string, number>)
    })
  })
}

describe('a flush replayed by the next process after the migrations', () => {
  it('is dropped by every table, those of views changed in place by a migration (MODIFY QUERY) included', { timeout: 120_000 }, async () => {
    // The first worker on a new database migrates and flushes in one process; when it dies with
    // the flush pending, the next process replays it under the same tokens.
    const dataDir = join(mkdtempSync(join(tmpdir(), 'replay-')), 'chdb')
    const first = await child(dataDir, 'migrate')
    for (const table of ['order_events', 'gmv_minute', 'products_minute', 'products_hour', 'products_day', 'activity_minute', 'heatmap_minute', 'inventory_batches']) {
      expect(first[table], table).toBeGreaterThan(0)
    }
    expect(await child(dataDir, 'replay')).toEqual(first)
  })
})

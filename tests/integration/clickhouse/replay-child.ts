// A process of its own for replay-after-migration.test.ts (the embedded engine binds one data
// directory per process): opens the engine at argv[2], migrates first when argv[3] is 'migrate',
// inserts one flush block per stream under fixed deduplication tokens, as a worker's flush does,
// and prints the row count of every MergeTree table of the database as JSON.
import { EventGenerator } from '../../../generator/index.js'
import { PIPELINES } from '../../../pipelines/index.js'
import { STREAM_COLUMNS, STREAM_TABLES, pipesMask, streamRow } from '../../../engine/index.js'
import { EVENT_TYPES } from '../../../schemas/index.js'
import { connectClickHouse, insertValues, migrate } from '../../../sinks/index.js'

const [dataDir, step] = process.argv.slice(2) as [string, string]
const ch = await connectClickHouse({ url: null, database: 'streamcube', dataDir })
try {
  if (step === 'migrate') await migrate(ch)
  const records = new EventGenerator({ seed: 11, start: Date.UTC(2026, 10, 20, 2, 0, 0) }).take(15_000)
  for (const type of EVENT_TYPES) {
    const rows = records
      .filter((r) => r.type === type)
      .map((r, i) => streamRow(r.event, { topic: `replay.${type}`, partition: 0, offset: String(i) }, pipesMask(PIPELINES, type)))
    await insertValues(ch, STREAM_TABLES[type], STREAM_COLUMNS[type], rows, { deduplicationToken: `replay/${type}/0-${rows.length - 1}` })
  }
  const rs = await ch.client.query({
    query: "SELECT name, total_rows AS n FROM system.tables WHERE database = 'streamcube' AND engine LIKE '%MergeTree' AND name NOT LIKE 'streamcube_%' ORDER BY name",
    format: 'JSONEachRow',
  })
  process.stdout.write(JSON.stringify(Object.fromEntries((await rs.json<{ name: string; n: string }>()).map((r) => [r.name, Number(r.n)]))))
} finally {
  await ch.close()
}

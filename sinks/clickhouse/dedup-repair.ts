import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { quoteIdentifier, type ClickHouse } from './connection.js'

/*
 * The embedded engine's crash window, and its repair.
 *
 * A non-replicated MergeTree with a deduplication window writes a block's deduplication record
 * (its block id, from the insert's token) BEFORE it commits the block's part: in ClickHouse's
 * MergeTreeSink::finishDelayedChunk, `deduplication_log->addPart(block_id, ...)` appends to
 * `deduplication_logs/deduplication_log_N.txt`, then `renameTempPartAndAdd` turns the temporary
 * part into a part. A process killed between the two leaves a record for a block that never
 * landed (its temporary part is removed when the table is next loaded): the replay of that block,
 * under the same token, is then dropped as a duplicate and its rows are lost for good.
 *
 * Against a ClickHouse server a worker's crash cannot land there (the server runs the insert).
 * With the embedded engine it can: the engine runs in the worker's process, so every SIGKILL of
 * the worker is a crash of the database in the middle of whatever it was writing. The crash test
 * met it once (a flush's smallest insert, the data quality rows of 2000 records, gone).
 *
 * So when the embedded engine opens a database, before anything inserts: for each table with a
 * deduplication log, every block recorded as added that no part on disk covers gets a DROP
 * record — the log's own way of forgetting a block (ClickHouse writes one when a part is
 * dropped). The table is detached while its log is changed and attached again, so the engine
 * reloads it. A replay of the block then lands, exactly once: the block was never in the table.
 */

const ADD = '1'
const DROP = '2'

/** A part directory's name: partition id, min and max block, level, optional mutation. */
const PART = /^([^_]+)_(\d+)_(\d+)_(\d+)(?:_(\d+))?$/

interface Span {
  readonly partition: string
  readonly min: bigint
  readonly max: bigint
}

function span(name: string): Span | null {
  const m = PART.exec(name)
  return m ? { partition: m[1] as string, min: BigInt(m[2] as string), max: BigInt(m[3] as string) } : null
}

/** Deduplication records of blocks that no part on disk covers, read from a table's data directory. */
export function uncommittedBlocks(tableDir: string): { log: string; blocks: { part: string; blockId: string }[] } | null {
  const logsDir = join(tableDir, 'deduplication_logs')
  if (!existsSync(logsDir)) return null
  const logs = readdirSync(logsDir)
    .map((f) => ({ f, n: Number(/^deduplication_log_(\d+)\.txt$/.exec(f)?.[1]) }))
    .filter((x) => Number.isInteger(x.n) && x.n > 0)
    .sort((a, b) => a.n - b.n)
  if (logs.length === 0) return null
  // The live records, replayed in log order as the engine does (a DROP forgets an ADD).
  const live = new Map<string, string>()
  for (const { f } of logs) {
    for (const line of readFileSync(join(logsDir, f), 'utf8').split('\n')) {
      if (line === '') continue
      const [op, part, blockId] = line.split('\t')
      if (!part || !blockId) return null // a format this code does not know: leave it alone
      if (op === ADD) live.set(blockId, part)
      else if (op === DROP) live.delete(blockId)
      else return null
    }
  }
  const parts = readdirSync(tableDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => span(d.name))
    .filter((s): s is Span => s !== null)
  const covered = (s: Span) => parts.some((p) => p.partition === s.partition && p.min <= s.min && s.max <= p.max)
  const blocks: { part: string; blockId: string }[] = []
  for (const [blockId, part] of live) {
    const s = span(part)
    if (s && !covered(s)) blocks.push({ part, blockId })
  }
  return { log: join(logsDir, (logs.at(-1) as { f: string }).f), blocks }
}

/**
 * Repairs every deduplication log of the connection's database (embedded engine only; call it
 * before anything inserts). Returns the blocks forgotten, per table.
 */
export async function repairDeduplicationLogs(ch: ClickHouse, log?: Logger): Promise<{ table: string; parts: string[] }[]> {
  if (ch.kind !== 'embedded') return []
  const rs = await ch.client.query({
    query: "SELECT name, data_paths FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree%'",
    query_params: { db: ch.database },
    format: 'JSONEachRow',
  })
  const repaired: { table: string; parts: string[] }[] = []
  // A merge of the parts on both sides of a lost block would cover its number and hide it (a
  // merged part's block range includes numbers whose parts never existed): no merges while the
  // logs are read. Hidden blocks stay as they were; a block that landed is never forgotten.
  await ch.client.command({ query: 'SYSTEM STOP MERGES' })
  try {
    await repairTables(ch, await rs.json<{ name: string; data_paths: string[] }>(), repaired, log)
  } finally {
    await ch.client.command({ query: 'SYSTEM START MERGES' })
  }
  return repaired
}

async function repairTables(ch: ClickHouse, tables: { name: string; data_paths: string[] }[], repaired: { table: string; parts: string[] }[], log?: Logger): Promise<void> {
  for (const { name, data_paths: paths } of tables) {
    for (const dir of paths) {
      const found = uncommittedBlocks(dir)
      if (!found || found.blocks.length === 0) continue
      const table = `${quoteIdentifier(ch.database)}.${quoteIdentifier(name)}`
      await ch.client.command({ query: `DETACH TABLE ${table}` })
      try {
        appendFileSync(found.log, found.blocks.map((b) => `${DROP}\t${b.part}\t${b.blockId}\n`).join(''))
      } finally {
        await ch.client.command({ query: `ATTACH TABLE ${table}` })
      }
      const parts = found.blocks.map((b) => b.part)
      repaired.push({ table: name, parts })
      log?.warn({ table: name, parts }, 'deduplication records of blocks that never landed (the process died between record and part) forgotten, so their replay lands')
    }
  }
}

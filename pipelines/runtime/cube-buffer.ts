/**
 * The rows a flush will insert, per table. Keyed rows are partial aggregates (one row per window
 * and dimension key, measures summed or collected in place); appended rows are facts. Insertion
 * order is the order of the events, so the same events always give the same rows in the same order.
 */
export type Row = Record<string, unknown>

export class CubeBuffer {
  private readonly keyed = new Map<string, Map<string, Row>>()
  private readonly appended = new Map<string, Row[]>()
  private count = 0

  /** The row of `key` in `table`, created by `init` on first use; mutate it to add measures. */
  row(table: string, key: string, init: () => Row): Row {
    let rows = this.keyed.get(table)
    if (!rows) {
      rows = new Map()
      this.keyed.set(table, rows)
    }
    let row = rows.get(key)
    if (!row) {
      row = init()
      rows.set(key, row)
      this.count++
    }
    return row
  }

  /** Appends a fact row. */
  append(table: string, row: Row): void {
    let rows = this.appended.get(table)
    if (!rows) {
      rows = []
      this.appended.set(table, rows)
    }
    rows.push(row)
    this.count++
  }

  get size(): number {
    return this.count
  }

  /**
   * Rows per table. Set-valued measures become the text of a JSON array: with
   * aggregate_function_input_format = 'array' ClickHouse builds the uniq state from it (it reads
   * the array from a string field, verified on the embedded engine).
   */
  tables(): Map<string, Row[]> {
    const out = new Map<string, Row[]>()
    for (const [table, rows] of this.appended) out.set(table, rows)
    for (const [table, rows] of this.keyed) {
      const list = out.get(table) ?? []
      // Rows of a table share their shape (one init per table): find the set-valued measures once
      // and convert them in place (the buffer is discarded after the flush takes its rows).
      let sets: string[] | null = null
      for (const row of rows.values()) {
        sets ??= Object.keys(row).filter((k) => row[k] instanceof Set)
        for (const k of sets) row[k] = JSON.stringify([...(row[k] as Set<string>)])
        list.push(row)
      }
      out.set(table, list)
    }
    return out
  }
}

/** Adds `n` to a numeric measure. */
export function add(row: Row, measure: string, n: number): void {
  row[measure] = (row[measure] as number) + n
}

/**
 * The rows a flush will insert, per table. Keyed rows are partial aggregates (one row per window
 * and dimension key, measures summed in place: the data quality counts); appended rows are facts. Insertion
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

  /** Rows per table: appended rows, then keyed rows in the order their keys first came. */
  tables(): Map<string, Row[]> {
    const out = new Map<string, Row[]>()
    for (const [table, rows] of this.appended) out.set(table, rows)
    for (const [table, rows] of this.keyed) out.set(table, [...(out.get(table) ?? []), ...rows.values()])
    return out
  }
}

/** Adds `n` to a numeric measure. */
export function add(row: Row, measure: string, n: number): void {
  row[measure] = (row[measure] as number) + n
}

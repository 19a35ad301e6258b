import { add, CubeBuffer, type Row } from './cube-buffer.js'

/**
 * Data quality counts ride with every flush as one more table, under the same exactly-once
 * protocol (token per range): per minute of arrival (the record's Kafka timestamp), topic and
 * pipeline set, how many records came, and how many events were accepted, accepted late,
 * duplicates, too late, or dead-lettered (by error code).
 */
export const QUALITY_PIPELINE = 'quality'
export const QUALITY_TABLE = 'quality_minute'
export type QualityKind = 'records' | 'accepted' | 'late_accepted' | 'duplicate' | 'late' | 'dead_letter' | 'schema'

/** The quality counts of one partition's current range. */
export class QualityCounts {
  private buffer = new CubeBuffer()
  private minute = -1
  private rows = new Map<string, Row>()
  private coded = new Map<string, Map<string, Row>>()

  constructor(
    private readonly pipelineSet: string,
    private readonly topic: string,
  ) {}

  get size(): number {
    return this.buffer.size
  }

  /**
   * Per record on the hot path (a few times a record): the rows of the current arrival minute are
   * kept at hand (records of a fetch mostly share one). A count without a code is one lookup by
   * kind; one with a code (error codes, schema ids: few per kind) a lookup by kind, then code. No
   * key is built per record.
   */
  count(minute: number, kind: QualityKind, code: string): void {
    if (minute !== this.minute) {
      this.minute = minute
      this.rows = new Map()
      this.coded = new Map()
    }
    let row: Row | undefined
    let byCode: Map<string, Row> | undefined
    if (code === '') row = this.rows.get(kind)
    else {
      byCode = this.coded.get(kind)
      if (!byCode) this.coded.set(kind, (byCode = new Map()))
      row = byCode.get(code)
    }
    if (!row) {
      row = this.buffer.row(QUALITY_TABLE, `${minute}|${kind}|${code}`, () => ({ window_start: minute, pipeline_set: this.pipelineSet, topic: this.topic, kind, code, events: 0 }))
      if (byCode) byCode.set(code, row)
      else this.rows.set(kind, row)
    }
    add(row, 'events', 1)
  }

  /** The counts so far, by table, and a fresh start. */
  take(): Map<string, Row[]> {
    const tables = this.buffer.tables()
    this.buffer = new CubeBuffer()
    this.minute = -1
    this.rows = new Map()
    this.coded = new Map()
    return tables
  }
}

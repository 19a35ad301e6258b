/** A binary min-heap ordered by (time, sequence): ties keep insertion order, so runs are deterministic. */
export class TimeHeap<T> {
  private readonly times: number[] = []
  private readonly seqs: number[] = []
  private readonly items: T[] = []
  private seq = 0

  get size(): number {
    return this.items.length
  }

  push(time: number, item: T): void {
    this.times.push(time)
    this.seqs.push(this.seq++)
    this.items.push(item)
    this.up(this.items.length - 1)
  }

  peekTime(): number | undefined {
    return this.times[0]
  }

  pop(): { time: number; item: T } | undefined {
    if (this.items.length === 0) return undefined
    const time = this.times[0] as number
    const item = this.items[0] as T
    const last = this.items.length - 1
    this.swap(0, last)
    this.times.pop()
    this.seqs.pop()
    this.items.pop()
    this.down(0)
    return { time, item }
  }

  private less(i: number, j: number): boolean {
    const ti = this.times[i] as number
    const tj = this.times[j] as number
    return ti < tj || (ti === tj && (this.seqs[i] as number) < (this.seqs[j] as number))
  }

  private swap(i: number, j: number): void {
    ;[this.times[i], this.times[j]] = [this.times[j] as number, this.times[i] as number]
    ;[this.seqs[i], this.seqs[j]] = [this.seqs[j] as number, this.seqs[i] as number]
    ;[this.items[i], this.items[j]] = [this.items[j] as T, this.items[i] as T]
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(i, p)) return
      this.swap(i, p)
      i = p
    }
  }

  private down(i: number): void {
    const n = this.items.length
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < n && this.less(l, m)) m = l
      if (r < n && this.less(r, m)) m = r
      if (m === i) return
      this.swap(i, m)
      i = m
    }
  }
}

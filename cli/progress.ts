/**
 * A progress line on stderr: redrawn in place on a terminal, one line every few seconds otherwise
 * (so CI logs stay readable).
 */
export class Progress {
  private readonly started = Date.now()
  private lastLine = 0
  private readonly tty = process.stderr.isTTY === true

  constructor(private readonly label: string, private readonly total?: number) {}

  update(done: number, extra = ''): void {
    const now = Date.now()
    if (!this.tty && now - this.lastLine < 2000) return
    this.lastLine = now
    const seconds = (now - this.started) / 1000
    const rate = seconds > 0 ? Math.round(done / seconds) : 0
    let bar = ''
    if (this.total && Number.isFinite(this.total)) {
      const width = 24
      const filled = Math.min(width, Math.round((done / this.total) * width))
      bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor((done / this.total) * 100)}% `
    }
    const line = `${this.label} ${bar}${done.toLocaleString('en-US')} events  ${rate.toLocaleString('en-US')}/s  ${seconds.toFixed(1)}s${extra ? `  ${extra}` : ''}`
    process.stderr.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`)
  }

  done(): void {
    if (this.tty) process.stderr.write('\n')
  }
}

import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { cpus } from 'node:os'

const README = new URL('./README.md', import.meta.url)

/** Replaces (or appends) the section between `<!-- name:start -->` and `<!-- name:end -->` in bench/README.md. */
export function writeSection(name: string, body: string): void {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const text = existsSync(README) ? readFileSync(README, 'utf8') : '# Benchmarks\n'
  const block = `${start}\n${body.trim()}\n${end}`
  const i = text.indexOf(start)
  const j = text.indexOf(end)
  writeFileSync(README, i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`)
}

export function machine(): string {
  return `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`
}

/** Runs fn repeatedly for at least `ms`, after a warm-up, and returns operations per second. */
export function opsPerSecond(fn: () => number, ms = 1500): number {
  fn()
  let ops = 0
  const start = performance.now()
  while (performance.now() - start < ms) ops += fn()
  return (ops * 1000) / (performance.now() - start)
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=50
// The streamcube CLI. The TypeScript sources compile to dist/ (`npm run build`, run by `npm install`).
// V8's young generation at 8 MB semi-spaces, half Node's default: since the JSON fast path and the
// record-batch decoder a worker allocates little per record, and the smaller young generation
// (with the 16 MiB payload pool) took ≈ 70 MB off a worker's peak memory at no CPU cost in
// alternating runs (bench/README.md, issue 17; README "V8's heap"). The old generation grows by
// 50 % over what a full collection leaves live, not by V8's own factor (up to 4×): the fetched
// records of a batch that waits on a flush outlive the young generation, and with V8's factor the
// old generation reached ≈ 100 MB, and the dead fetch buffers it still held ≈ 60 MB more, before a
// full collection. At 50 % a worker's peak RSS was 17–95 MB lower for 1–21 % more CPU in the
// side-by-side tables (the bench runs both, bench/vs-kafka-engine.ts). This line is the
// flags' one home: `npm start`, the image and the benches take them from here (tests/e2e/cli.test.ts).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
if (!existsSync(entry)) {
  process.stderr.write('streamcube: dist/ is missing. Run `npm run build` (npm install runs it for you).\n')
  process.exit(1)
}
const { main } = await import(entry)
await main(process.argv)

#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=30
// The streamcube CLI. The TypeScript sources compile to dist/ (`npm run build`, run by `npm install`).
// V8's young generation at 8 MB semi-spaces, half Node's default: since the JSON fast path and the
// record-batch decoder a worker allocates little per record, and the smaller young generation
// (with the 16 MiB payload pool) took ≈ 70 MB off a worker's peak memory at no CPU cost in
// alternating runs (bench/README.md, issue 17; README "V8's young generation"). The old generation
// grows by 30 % over what a full collection leaves live, not by V8's own factor (up to 4×): the
// buffers of fetched records that outlive a flush are promoted, and with V8's factor the old
// generation and the dead buffers it still holds reached ≈ 100 + 60 MB before a full collection;
// at 30 % a worker's peak RSS was ≈ 60 MB lower at the same CPU (alternating runs). This line is the
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

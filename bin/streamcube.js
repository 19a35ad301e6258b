#!/usr/bin/env node
// The streamcube CLI. The TypeScript sources compile to dist/ (`npm run build`, run by `npm install`).
// Node's own V8 settings: since the JSON fast path a worker allocates little per record, and V8's
// default young generation (16 MB semi-spaces) costs no CPU against the 64 MB it used to ask for,
// and ≈ 60–100 MB less memory (bench/README.md, issue 17; README "V8's young generation").
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
if (!existsSync(entry)) {
  process.stderr.write('streamcube: dist/ is missing. Run `npm run build` (npm install runs it for you).\n')
  process.exit(1)
}
const { main } = await import(entry)
await main(process.argv)

#!/usr/bin/env -S node --max-semi-space-size=64
// The streamcube CLI. The TypeScript sources compile to dist/ (`npm run build`, run by `npm install`).
// V8's young generation: 64 MB semi-spaces instead of 16. A worker allocates short-lived objects
// per record (decoded values, rows); with the default, scavenges run so often that objects still
// in use get copied and promoted. bench/engine.ts measures it against the default in the same run
// (README "Running a worker": how to change it). `npm start` and the image pass the same flag.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
if (!existsSync(entry)) {
  process.stderr.write('streamcube: dist/ is missing. Run `npm run build` (npm install runs it for you).\n')
  process.exit(1)
}
const { main } = await import(entry)
await main(process.argv)

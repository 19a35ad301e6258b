#!/usr/bin/env node
// The streamcube CLI. The TypeScript sources compile to dist/ (`npm run build`, run by `npm install`).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = fileURLToPath(new URL('../dist/scripts/cli/main.js', import.meta.url))
if (!existsSync(entry)) {
  process.stderr.write('streamcube: dist/ is missing. Run `npm run build` (npm install runs it for you).\n')
  process.exit(1)
}
const { main } = await import(entry)
await main(process.argv)

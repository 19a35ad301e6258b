// chdb declares its engine library for four platforms as optional dependencies, but only the
// linux-x64 one is published on the registry this project uses. `npm install` then writes a lock
// file without the other three, and `npm ci` refuses it as out of sync. This adds the three as
// optional, platform-restricted entries (never installed on linux-x64). Run it after an
// `npm install` that rewrote package-lock.json:  node scripts/lock-optional-platforms.mjs
import { readFileSync, writeFileSync } from 'node:fs'

const lockFile = new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(readFileSync(lockFile, 'utf8'))
const chdb = lock.packages['node_modules/chdb']
if (!chdb) throw new Error('chdb is not in package-lock.json')
const platforms = { 'darwin-arm64': ['darwin', 'arm64'], 'darwin-x64': ['darwin', 'x64'], 'linux-arm64-gnu': ['linux', 'arm64'], 'linux-x64-gnu': ['linux', 'x64'] }
let added = 0
for (const [name, version] of Object.entries(chdb.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`
  if (lock.packages[key]) continue
  const [os, cpu] = platforms[name.replace('@chdb/lib-', '')] ?? []
  if (!os) throw new Error(`unknown chdb platform package ${name}`)
  lock.packages[key] = { version, cpu: [cpu], license: 'Apache-2.0', optional: true, os: [os] }
  added++
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)))
lock.packages = sorted
writeFileSync(lockFile, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`package-lock.json: ${added} optional chdb platform entries added`)

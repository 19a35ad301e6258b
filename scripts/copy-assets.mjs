// Copies the non-TypeScript assets the compiled code reads at run time (Avro schemas, SQL
// migrations) next to it in dist/, mirroring the source tree.
import { cpSync, mkdirSync } from 'node:fs'

for (const [from, to] of [
  ['schemas/avro', 'dist/schemas/avro'],
  ['sql', 'dist/sql'],
]) {
  mkdirSync(to, { recursive: true })
  cpSync(from, to, { recursive: true })
}

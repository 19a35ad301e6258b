// Copies the non-TypeScript assets the compiled code reads at run time (Avro schemas, SQL
// migrations, the dashboard page and script, the example alert rules) next to it in dist/, mirroring the source tree.
import { cpSync, mkdirSync } from 'node:fs'

for (const [from, to] of [
  ['schemas/avro', 'dist/schemas/avro'],
  ['sql', 'dist/sql'],
  ['api/dashboard', 'dist/api/dashboard'],
  ['cli/examples', 'dist/cli/examples'],
]) {
  mkdirSync(to, { recursive: true })
  cpSync(from, to, { recursive: true, filter: (src) => !src.endsWith('.ts') })
}

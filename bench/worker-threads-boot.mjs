// Loads bench/worker-threads-host.ts in a worker thread through tsx (a worker does not inherit the loader).
import { register } from 'tsx/esm/api'

register()
await import('./worker-threads-host.ts')

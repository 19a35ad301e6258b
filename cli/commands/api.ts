import type { Command } from 'commander'
import { buildApi, loadApiKeys, newApiKey, openQuerySessions, Role } from '../../api/index.js'
import { connectClickHouse } from '../../sinks/index.js'
import type { CliContext } from '../context.js'

/** `streamcube api` (serve the reports) and `streamcube api-key` (make a key and its stored entry). */
export function registerApi(program: Command, ctx: CliContext): void {
  program
    .command('api')
    .description('Serve the aggregate API and dashboard (several processes can run behind a load balancer against a ClickHouse server)')
    .option('--port <port>', 'API port (env API_PORT, default 8080)')
    .option('--host <host>', 'API interface (env API_HOST, default 127.0.0.1)')
    .option('--clickhouse-url <url>', 'ClickHouse server (env CLICKHOUSE_URL; without it: the embedded engine, one process per data directory)')
    .option('--data-dir <dir>', 'embedded engine data directory (env STREAMCUBE_DATA_DIR)')
    .option('--keys-file <file>', 'JSON file of API keys (env API_KEYS_FILE)')
    .action(async (opts: { port?: string; host?: string; clickhouseUrl?: string; dataDir?: string; keysFile?: string }) => {
      const config = ctx.config({ 'api.port': opts.port, 'api.host': opts.host, 'clickhouse.url': opts.clickhouseUrl, 'clickhouse.dataDir': opts.dataDir, 'api.keysFile': opts.keysFile })
      loadApiKeys(config) // a bad key file stops start-up before anything connects
      const ch = await connectClickHouse(config.clickhouse, { application: 'streamcube-api' })
      const querySessions = await openQuerySessions(config, ch)
      const app = await buildApi({ ch, querySessions, log: ctx.log, config })
      const address = await app.listen({ port: config.api.port, host: config.api.host })
      ctx.print(`streamcube api: ${ch.kind} ClickHouse; reports under ${address}/v1, dashboard at ${address}/, OpenAPI at ${address}/docs`)
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
      await app.close()
      for (const c of querySessions) await c.close()
      await ch.close()
    })

  program
    .command('api-key')
    .description('Make a new API key: prints the key once (give it to the client) and the entry to add to API_KEYS_FILE (only its hash is stored)')
    .requiredOption('--name <name>', 'a unique name (logs, rate limits)')
    .requiredOption('--role <role>', Role.join(', '))
    .option('--communities <ids>', 'leader: the communities she may read, comma-separated')
    .option('--skus <ids>', 'supplier: the SKUs he may read, comma-separated')
    .action((opts: { name: string; role: string; communities?: string; skus?: string }) => {
      if (!(Role as readonly string[]).includes(opts.role)) ctx.usageError(`--role must be one of ${Role.join(', ')}`)
      const list = (s?: string) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined)
      try {
        const { key, entry } = newApiKey({ name: opts.name, role: opts.role as Role, communities: list(opts.communities), skus: list(opts.skus) })
        ctx.print(`key:   ${key}\nentry: ${JSON.stringify(entry)}`)
      } catch (err) {
        ctx.usageError(`invalid key entry: ${(err as Error).message}`)
      }
    })
}

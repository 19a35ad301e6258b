import type { Command } from 'commander'
import type { CliContext } from '../context.js'

/*
 * `api` is declared here so that `--help` documents the whole CLI; the aggregate API it
 * starts is built in the API issue. Until then it says so and exit with status 2 rather than pretend to work.
 */
export function registerSkeletons(program: Command, ctx: CliContext): void {
  program
    .command('api')
    .description('Serve the aggregate API and dashboard against a ClickHouse server [arrives with the API]')
    .action(() => ctx.usageError('`streamcube api` arrives with the aggregate API; today `streamcube demo` serves /health and a status page'))
}

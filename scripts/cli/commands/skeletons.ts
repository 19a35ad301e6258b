import type { Command } from 'commander'
import type { CliContext } from '../context.js'

/*
 * `run` and `api` are declared here so that `--help` documents the whole CLI; the stream engine
 * and the aggregate API that they start are built in the stream-engine and API issues. Until then
 * they say so and exit with status 2 rather than pretend to work.
 */
export function registerSkeletons(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('Run stream pipelines (all, or the named ones) in this process [arrives with the stream engine]')
    .argument('[pipelines...]', 'pipeline names')
    .action(() => ctx.usageError('`streamcube run` arrives with the stream engine; today use `streamcube demo` (npm start) for the embedded flow'))
  program
    .command('api')
    .description('Serve the aggregate API and dashboard against a ClickHouse server [arrives with the API]')
    .action(() => ctx.usageError('`streamcube api` arrives with the aggregate API; today `streamcube demo` serves /health and a status page'))
}

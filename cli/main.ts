import { Command, CommanderError } from 'commander'
import { StreamcubeError } from '../schemas/index.js'
import { createContext, UsageError } from './context.js'
import { registerApi } from './commands/api.js'
import { registerBacktest } from './commands/backtest.js'
import { registerDemo } from './commands/demo.js'
import { registerGenerate } from './commands/generate.js'
import { registerConnect } from './commands/connect.js'
import { registerKafka } from './commands/kafka.js'
import { registerMigrate } from './commands/migrate.js'
import { registerProduce } from './commands/produce.js'
import { registerRebuild } from './commands/rebuild.js'
import { registerRun } from './commands/run.js'

/** Builds the `streamcube` command tree (exported for tests of --help and argument errors). */
export function buildProgram(): Command {
  const program = new Command('streamcube')
  program
    .description('Stream-processing analytics for neighbourhood commerce: Kafka events → event-time cubes in ClickHouse → API')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env LOG_LEVEL)')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
  const ctx = createContext(() => program.opts<{ logLevel?: string }>())
  registerGenerate(program, ctx)
  registerProduce(program, ctx)
  registerMigrate(program, ctx)
  registerKafka(program, ctx)
  registerConnect(program, ctx)
  registerDemo(program, ctx)
  registerRun(program, ctx)
  registerRebuild(program, ctx)
  registerBacktest(program, ctx)
  registerApi(program, ctx)
  for (const command of program.commands) command.exitOverride()
  return program
}

/** Runs the CLI; exit status 0 on success, 2 for usage and configuration errors, 1 otherwise. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram()
  try {
    await program.parseAsync([...argv])
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2
      return
    }
    if (err instanceof UsageError) {
      process.stderr.write(`streamcube: ${err.message}\n`)
      process.exitCode = 2
      return
    }
    if (err instanceof StreamcubeError && err.code.startsWith('CONFIG_')) {
      process.stderr.write(`streamcube: ${err.message}\n`)
      process.exitCode = 2
      return
    }
    process.stderr.write(`streamcube: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  }
}

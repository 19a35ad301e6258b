import type { Command } from 'commander'
import { EventGenerator, writeGeneratedFiles, type FileFormat } from '../../generator/index.js'
import { positiveInt, startOfToday, timeArg } from '../options.js'
import { Progress } from '../progress.js'
import type { CliContext } from '../context.js'

export function registerGenerate(program: Command, ctx: CliContext): void {
  program
    .command('generate')
    .description('Write simulated events to files: one per topic, NDJSON or Avro object container files')
    .requiredOption('--out <dir>', 'output directory')
    .option('--events <n>', 'number of events', positiveInt('--events'), 100_000)
    .option('--format <format>', 'ndjson or avro', 'ndjson')
    .option('--seed <n>', 'random seed (same seed, same events)', positiveInt('--seed'), 42)
    .option('--start <time>', 'simulation start, ISO 8601 or epoch ms (default: start of today, UTC)', timeArg)
    .option('--communities <n>', 'communities in the city', positiveInt('--communities'), 30)
    .option('--sessions-per-minute <n>', 'shopping sessions per minute at the busiest hour', positiveInt('--sessions-per-minute'), 40)
    .action(async (opts: { out: string; events: number; format: string; seed: number; start?: number; communities: number; sessionsPerMinute: number }) => {
      if (opts.format !== 'ndjson' && opts.format !== 'avro') ctx.usageError(`--format must be ndjson or avro, got ${JSON.stringify(opts.format)}`)
      ctx.config({})
      const generator = new EventGenerator({ seed: opts.seed, start: opts.start ?? startOfToday(), communities: opts.communities, sessionsPerMinute: opts.sessionsPerMinute })
      const progress = new Progress('generate', opts.events)
      const started = Date.now()
      const result = await writeGeneratedFiles(generator[Symbol.iterator](), {
        out: opts.out,
        count: opts.events,
        format: opts.format as FileFormat,
        onProgress: (n) => progress.update(n),
      })
      progress.done()
      const seconds = (Date.now() - started) / 1000
      ctx.print(
        [
          `generated ${result.written.toLocaleString('en-US')} events in ${seconds.toFixed(1)} s (${Math.round(result.written / seconds).toLocaleString('en-US')}/s)`,
          ...Object.entries(result.files).map(([type, file]) => `  ${type.padEnd(10)} ${String(result.byType[type as keyof typeof result.byType]).padStart(9)}  ${file}`),
          `  span: ${new Date(generator.options.start).toISOString()} → ${new Date(generator.clock).toISOString()}`,
        ].join('\n'),
      )
    })
}

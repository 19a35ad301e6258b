import type { Command } from 'commander'
import { ensureKafkaJars, kafkaVersion, startLocalBroker, stopLocalBroker } from '../../scripts/kafka/broker.js'
import { positiveInt } from '../options.js'
import type { CliContext } from '../context.js'

export function registerKafka(program: Command, ctx: CliContext): void {
  const kafka = program.command('kafka').description('A local single-node Kafka broker (KRaft) from Maven Central jars, for development without Docker')
  kafka
    .command('jars')
    .description('Resolve the broker jars with mvn into scripts/kafka/libs (cached in ~/.m2)')
    .action(() => {
      ensureKafkaJars((m) => ctx.print(m))
      ctx.print(`Kafka ${kafkaVersion()} jars ready`)
    })
  kafka
    .command('start')
    .description('Start the broker in the background and print its address')
    .option('--data-dir <dir>', 'broker data directory', '.streamcube/kafka')
    .option('--port <port>', 'client port (default: the previous one, or a free one)', positiveInt('--port'))
    .action(async (opts: { dataDir: string; port?: number }) => {
      ensureKafkaJars((m) => ctx.print(m))
      const broker = await startLocalBroker({ dataDir: opts.dataDir, port: opts.port, detached: true })
      ctx.print(`Kafka ${broker.version} started (pid ${broker.pid}); log ${broker.logFile}\nexport KAFKA_BROKERS=${broker.brokers}`)
    })
  kafka
    .command('stop')
    .description('Stop the broker started by `kafka start`')
    .option('--data-dir <dir>', 'broker data directory', '.streamcube/kafka')
    .action(async (opts: { dataDir: string }) => {
      ctx.print((await stopLocalBroker(opts.dataDir)) ? 'Kafka stopped' : 'no running broker found')
    })
}

import type { Command } from 'commander'
import { EventGenerator, produceGenerated, type ProduceEncoding } from '../../generator/index.js'
import { requireBrokers } from '../../schemas/index.js'
import { positiveInt, startOfToday, timeArg } from '../options.js'
import { Progress } from '../progress.js'
import type { CliContext } from '../context.js'

export function registerProduce(program: Command, ctx: CliContext): void {
  program
    .command('produce')
    .description('Write simulated events to the Kafka topics (behaviour, orders, inventory), keyed by user id, order id and sku')
    .option('--brokers <list>', 'host:port[,host:port] (env KAFKA_BROKERS)')
    .option('--events <n>', 'stop after this many events', positiveInt('--events'))
    .option('--duration <seconds>', 'stop after this many seconds', positiveInt('--duration'))
    .option('--rate <n>', 'events per second (default: as fast as the broker takes them)', positiveInt('--rate'))
    .option('--encoding <encoding>', 'json, confluent-avro or avro (env STREAMCUBE_ENCODING)')
    .option('--registry-url <url>', 'Confluent schema registry; without one, confluent-avro uses local schema ids 1-3 (env SCHEMA_REGISTRY_URL)')
    .option('--topic-prefix <prefix>', 'topic name prefix (env KAFKA_TOPIC_PREFIX, default "streamcube.")')
    .option('--partitions <n>', 'partitions of topics this command creates', positiveInt('--partitions'), 6)
    .option('--seed <n>', 'random seed', positiveInt('--seed'), 42)
    .option('--start <time>', 'simulation start, ISO 8601 or epoch ms (default: start of today, UTC)', timeArg)
    .option('--communities <n>', 'communities in the city', positiveInt('--communities'), 30)
    .option('--sessions-per-minute <n>', 'shopping sessions per minute at the busiest hour', positiveInt('--sessions-per-minute'), 40)
    .action(async (opts: { brokers?: string; events?: number; duration?: number; rate?: number; encoding?: string; registryUrl?: string; topicPrefix?: string; partitions: number; seed: number; start?: number; communities: number; sessionsPerMinute: number }) => {
      const config = ctx.config({ 'kafka.brokers': opts.brokers, encoding: opts.encoding === 'avro' ? undefined : opts.encoding, schemaRegistryUrl: opts.registryUrl, 'kafka.topicPrefix': opts.topicPrefix })
      const brokers = requireBrokers(config)
      const encoding = (opts.encoding === 'avro' ? 'avro' : config.encoding) as ProduceEncoding
      if (opts.events === undefined && opts.duration === undefined) ctx.usageError('give --events N or --duration SECONDS (or both)')
      const generator = new EventGenerator({ seed: opts.seed, start: opts.start ?? startOfToday(), communities: opts.communities, sessionsPerMinute: opts.sessionsPerMinute })
      const progress = new Progress('produce', opts.events)
      const abort = new AbortController()
      const onSigint = () => abort.abort()
      process.once('SIGINT', onSigint)
      try {
        const summary = await produceGenerated(generator[Symbol.iterator](), {
          brokers,
          clientId: config.kafka.clientId,
          topicPrefix: config.kafka.topicPrefix,
          encoding,
          registryUrl: config.schemaRegistryUrl,
          events: opts.events,
          durationSeconds: opts.duration,
          rate: opts.rate,
          partitions: opts.partitions,
          log: ctx.log.child({ module: 'produce' }),
          signal: abort.signal,
          onProgress: (p) => progress.update(p.sent, `${(p.bytes / 1e6).toFixed(1)} MB`),
        })
        progress.done()
        ctx.print(
          [
            `produced ${summary.sent.toLocaleString('en-US')} events (${(summary.bytes / 1e6).toFixed(1)} MB, ${encoding}) in ${(summary.elapsedMs / 1000).toFixed(1)} s: ${summary.eventsPerSecond.toLocaleString('en-US')} events/s`,
            ...Object.entries(summary.topics).map(([type, topic]) => `  ${topic.padEnd(28)} ${String(summary.byType[type as keyof typeof summary.byType]).padStart(9)}`),
          ].join('\n'),
        )
      } finally {
        process.off('SIGINT', onSigint)
      }
    })
}

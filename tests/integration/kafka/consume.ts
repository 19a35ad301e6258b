import type { Kafka, KafkaMessage } from 'kafkajs'

export interface ConsumedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  readonly key: string | null
  readonly value: Buffer | null
  readonly headers: KafkaMessage['headers']
}

/**
 * Reads topics from the beginning with a kafkajs consumer (random group) until `expected` records
 * arrived, then disconnects. Waits on the count, not on time; fails after `timeoutMs`. A record
 * the consumer is handed twice (a batch fetched again after the reader's own group rebalanced) is
 * kept once: what is returned is the topic's content, one entry per position.
 */
export async function consumeAll(kafka: Kafka, topics: readonly string[], expected: number, timeoutMs = 60_000): Promise<ConsumedRecord[]> {
  const consumer = kafka.consumer({ groupId: `verify-${Math.random().toString(36).slice(2)}`, maxBytes: 16 * 1024 * 1024 })
  const records: ConsumedRecord[] = []
  const seen = new Set<string>()
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${records.length} of ${expected} records within ${timeoutMs} ms`)), timeoutMs)
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const position = `${batch.topic}/${batch.partition}/${m.offset}`
            if (seen.has(position)) continue
            seen.add(position)
            records.push({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key?.toString() ?? null, value: m.value, headers: m.headers })
          }
          if (records.length >= expected) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
    })
  } finally {
    await consumer.disconnect()
  }
  return records
}

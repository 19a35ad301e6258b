import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { Kafka, logLevel, type Admin } from 'kafkajs'

/** The run's broker address. */
export function brokers(): string[] {
  return inject('kafkaBrokers').split(',')
}

/** A random topic prefix, so tests never see each other's records. */
export function randomPrefix(name = 'test'): string {
  return `${name}-${randomBytes(4).toString('hex')}.`
}

export function testKafka(clientId = 'streamcube-test'): Kafka {
  return new Kafka({ clientId, brokers: brokers(), logLevel: logLevel.NOTHING })
}

/** Deletes topics created by a test. */
export async function deleteTopics(admin: Admin, prefix: string): Promise<void> {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix))
  if (topics.length) await admin.deleteTopics({ topics })
}

import type { Admin } from 'kafkajs'

/** How long ensureTopics waits for new topics' partitions to have leaders. */
const LEADERS_TIMEOUT_MS = 30_000

/**
 * Creates the topics that do not exist yet and waits until every partition of them has a leader;
 * existing ones are left as they are.
 *
 * kafkajs's own wait for the leaders (`waitForLeaders`) retries only LEADER_NOT_AVAILABLE: a
 * metadata answer that does not know a just-created topic yet (UNKNOWN_TOPIC_OR_PARTITION, which
 * a KRaft broker gives until the topic reaches its metadata cache) fails the call — seen as a
 * worker that failed to start now and then on a new topic set. That error is retriable: the wait
 * goes on here until the leaders are there, or LEADERS_TIMEOUT_MS.
 */
export async function ensureTopics(admin: Admin, topics: readonly string[], partitions: number): Promise<string[]> {
  const existing = new Set(await admin.listTopics())
  const missing = topics.filter((t) => !existing.has(t))
  if (missing.length === 0) return missing
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1 })),
    })
  } catch (err) {
    if ((err as { retriable?: boolean }).retriable !== true) throw err
    await waitForLeaders(admin, missing, err as Error)
  }
  return missing
}

async function waitForLeaders(admin: Admin, topics: readonly string[], first: Error): Promise<void> {
  const deadline = Date.now() + LEADERS_TIMEOUT_MS
  let last = first
  while (Date.now() < deadline) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [...topics] })
      if (metadata.length === topics.length && metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return
    } catch (err) {
      if ((err as { retriable?: boolean }).retriable !== true) throw err
      last = err as Error
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`the topics ${topics.join(', ')} have no leaders after ${LEADERS_TIMEOUT_MS} ms (last: ${last.message}); is the broker healthy?`)
}

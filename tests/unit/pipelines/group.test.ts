import type { ConsumerConfig, Kafka } from 'kafkajs'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { GroupMembership } from '../../../engine/group.js'

/** The consumer configuration GroupMembership gives kafkajs (nothing connects). */
function membership(): { group: GroupMembership; config: () => ConsumerConfig } {
  let config: ConsumerConfig | undefined
  const kafka = { consumer: (c: ConsumerConfig) => ((config = c), {}), admin: () => ({}) } as unknown as Kafka
  const group = new GroupMembership({ kafka, groupId: 'g', topics: ['t'], log: pino({ level: 'silent' }) })
  return { group, config: () => config as ConsumerConfig }
}

describe('group membership (issue 21: a stop always stops)', () => {
  it('lets kafkajs restart a crashed consumer while running, and never once a stop has begun', async () => {
    const { group, config } = membership()
    const restart = config().retry?.restartOnFailure
    expect(restart).toBeTypeOf('function')
    expect(await restart!(new Error('Closed connection'))).toBe(true)
    group.beginStop()
    expect(await restart!(new Error('Closed connection'))).toBe(false)
  })

  it('fetches at most FETCH_MAX_BYTES per response and per partition', () => {
    const { config } = membership()
    expect(config()).toMatchObject({ maxBytes: 1024 * 1024, maxBytesPerPartition: 1024 * 1024 })
  })
})

import { describe, expect, it } from 'vitest'
import { chunkByMetadata, decodeCheckpoint, encodeCheckpoint, groupId, groupToken, MAX_METADATA_BYTES, type GroupMember } from '../../../engine/index.js'

const member = (topic: string, partition: number, first: number, last: number): GroupMember => ({ topic, partition, first: String(first), last: String(last), watermark: 1_764_000_000_000 + partition, horizonStart: partition % 2 ? String(first - 7) : null })

describe('group flush checkpoints', () => {
  it('carry the whole group in a member\'s metadata, and decode back to it', () => {
    const members = [member('p.behaviour', 0, 10, 19), member('p.behaviour', 1, 5, 8), member('p.order', 0, 100, 250)]
    const group = { id: groupId(members), members }
    const decoded = decodeCheckpoint(encodeCheckpoint({ watermark: 42, horizonStart: '3' }, 'set', '19', group))
    expect(decoded).toEqual({ v: 1, set: 'set', watermark: 42, horizonStart: '3', pending: '19', group })
    // Without a group, metadata reads as before (and old metadata without the field still decodes).
    expect(decodeCheckpoint(encodeCheckpoint({ watermark: 42, horizonStart: null }, 'set', '19'))?.group).toBeNull()
    expect(decodeCheckpoint('{"v":1,"set":"s","watermark":1,"horizonStart":null,"pending":"9"}')).toEqual({ v: 1, set: 's', watermark: 1, horizonStart: null, pending: '9', group: null })
    expect(decodeCheckpoint('{"v":1,"pending":"9","group":{"id":3}}')?.group).toBeNull()
  })

  it('name a group by its members\' ranges (and the stream id): any other range is another group', () => {
    const members = [member('t', 0, 10, 19), member('t', 1, 5, 8)]
    const id = groupId(members)
    expect(groupId(members.map((m) => ({ ...m })))).toBe(id)
    expect(groupId([members[0]!, { ...members[1]!, last: '9' }])).not.toBe(id)
    expect(groupId([members[0]!])).not.toBe(id)
    expect(groupId(members, 'run-2')).not.toBe(id)
    expect(groupToken('gmv', 'gmv_minute', id)).toBe(`gmv/gmv_minute/group/${id}`)
  })

  it('cut groups so that every member\'s commit metadata stays under the broker\'s limit', () => {
    const prefix = 'streamcube-test-a-rather-long-topic-prefix-0123456789.'
    const many = Array.from({ length: 64 }, (_, i) => member(`${prefix}${i % 3 === 0 ? 'behaviour' : 'order'}`, i, 1_000_000_000_000 + i, 1_000_000_500_000 + i))
    const chunks = chunkByMetadata(many, (m) => m, 'abcdef012345')
    expect(chunks.length).toBeGreaterThan(1)
    expect(chunks.flat()).toEqual(many)
    for (const chunk of chunks) {
      const metadata = encodeCheckpoint({ watermark: chunk[0]!.watermark, horizonStart: chunk[0]!.horizonStart }, 'abcdef012345', chunk[0]!.last, { id: groupId(chunk), members: chunk })
      expect(Buffer.byteLength(metadata)).toBeLessThanOrEqual(MAX_METADATA_BYTES)
    }
    // Short topics: one group holds them all.
    expect(chunkByMetadata(many.slice(0, 18).map((m) => ({ ...m, topic: 'b' })), (m) => m, 'set')).toHaveLength(1)
  })
})

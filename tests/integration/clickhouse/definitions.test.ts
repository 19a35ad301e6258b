import { describe, expect, it } from 'vitest'
import { deleteDefinition, listDefinitions, nextVersion, putDefinition } from '../../../queries/index.js'
import { testDatabase } from '../../services/clickhouse.js'

/* Versioned definitions (alert rules, campaigns): the latest write wins, even within one millisecond. */
describe('versioned definitions', () => {
  const ch = testDatabase('defs')
  const T = { table: 'campaigns', idColumn: 'campaign_id' }

  it('versions increase strictly, so the last of many writes in the same millisecond wins; a delete hides the id', async () => {
    const a = nextVersion()
    expect(nextVersion()).toBeGreaterThan(a)
    // Twenty versions written back to back (several per millisecond): the twentieth is the one read.
    for (let i = 1; i <= 20; i++) await putDefinition(ch, T, 'promo', { id: 'promo', n: i }, 'test')
    await putDefinition(ch, T, 'other', { id: 'other', n: 0 }, 'test')
    expect(await listDefinitions(ch, T)).toEqual([{ id: 'other', n: 0 }, { id: 'promo', n: 20 }])
    await deleteDefinition(ch, T, 'promo', 'test')
    expect(await listDefinitions(ch, T)).toEqual([{ id: 'other', n: 0 }])
  })
})

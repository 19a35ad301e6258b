import { describe, expect, it } from 'vitest'
import { jsonCompactEachRow, jsonCompactEachRowPerRow, sharedColumns } from '../../../sinks/clickhouse/insert.js'

describe('the insert format of a batch', () => {
  it('rows of one shape share the first row’s column list, undefined values included', () => {
    const rows = [{ a: 1, b: 'x', c: undefined }, { a: 2, b: 'y', c: 3 }]
    expect(sharedColumns(rows)).toEqual(['a', 'b', 'c'])
  })

  it('a row with a key more, a key less, another key or another key order makes the batch mixed', () => {
    expect(sharedColumns([{ a: 1, b: 2 }, { a: 1, b: 2, c: 3 }])).toBeNull()
    expect(sharedColumns([{ a: 1, b: 2 }, { a: 1 }])).toBeNull()
    expect(sharedColumns([{ a: 1, b: 2 }, { a: 1, c: 2 }])).toBeNull()
    expect(sharedColumns([{ a: 1, b: 2 }, { b: 2, a: 1 }])).toBeNull()
    expect(sharedColumns([{}])).toBeNull()
  })

  it('serialises values by position: strings escaped, undefined and non-finite numbers as null', () => {
    const rest = { s: 'a"b\\c\n\t€', n: 1.5, u: undefined, z: null, inf: Number.POSITIVE_INFINITY, set: '["o1","o2"]' }
    expect(jsonCompactEachRow([rest]).toString()).toBe('["a\\"b\\\\c\\n\\t€",1.5,null,null,null,"[\\"o1\\",\\"o2\\"]"]')
    expect(JSON.parse(jsonCompactEachRow([rest]).toString())).toEqual(['a"b\\c\n\t€', 1.5, null, null, null, '["o1","o2"]'])
  })

  it('separates rows with commas: the batch in brackets is the JSON array of the rows, and the per-row builder reads the same', () => {
    const rows = [{ a: 1, s: '],[' }, { a: 2, s: '"],["' }, { a: 3, s: null }]
    const text = jsonCompactEachRow(rows).toString()
    expect(text).toBe('[1,"],["],[2,"\\"],[\\""],[3,null]')
    expect(JSON.parse(`[${text}]`)).toEqual([[1, '],['], [2, '"],["'], [3, null]])
    expect(jsonCompactEachRowPerRow(rows).toString().trim().split('\n').map((l) => JSON.parse(l))).toEqual(JSON.parse(`[${text}]`))
  })
})

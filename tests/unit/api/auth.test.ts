import { describe, expect, it } from 'vitest'
import { hashApiKey, KeyRing, loadApiKeys, maskAddress, maskName, maskPhone, newApiKey } from '../../../api/index.js'
import { loadConfig } from '../../../schemas/index.js'

describe('API keys', () => {
  it('stores only the hash; a key resolves to its role and scope by either header', () => {
    const { key, entry } = newApiKey({ name: 'l', role: 'leader', communities: ['c-001'] })
    expect(entry.keyHash).toBe(hashApiKey(key))
    expect(JSON.stringify(entry)).not.toContain(key)
    const ring = new KeyRing([entry], null)
    expect(ring.authenticate({ authorization: `Bearer ${key}` })).toMatchObject({ role: 'leader', communities: ['c-001'] })
    expect(ring.authenticate({ 'x-api-key': key }).name).toBe('l')
    expect(() => ring.authenticate({})).toThrow(/API key is required/)
    expect(() => ring.authenticate({ 'x-api-key': `${key}x` })).toThrow(/not valid/)
  })

  it('a bad key file stops start-up naming the entry and the fix', () => {
    const bad = (keys: unknown) => () => loadApiKeys(loadConfig({ API_KEYS: JSON.stringify(keys) }))
    expect(bad([{ name: 'x', keyHash: 'plain', role: 'admin' }])).toThrow(/API_KEYS\[0\.keyHash\] is invalid \(expected sha256:/)
    expect(bad([{ name: 'x', keyHash: hashApiKey('k'), role: 'leader' }])).toThrow(/API_KEYS\[0\.communities\] is invalid \(a leader key needs the communities/)
    expect(bad([{ name: 'x', keyHash: hashApiKey('k'), role: 'root' }])).toThrow(/API_KEYS\[0\.role\]/)
    expect(bad([{ name: 'x', keyHash: hashApiKey('a'), role: 'admin' }, { name: 'x', keyHash: hashApiKey('b'), role: 'admin' }])).toThrow(/appears twice/)
    expect(() => loadApiKeys(loadConfig({ API_KEYS: '{nope' }))).toThrow(/API_KEYS is not JSON/)
    expect(() => loadApiKeys(loadConfig({ API_KEYS_FILE: '/nonexistent/keys.json' }))).toThrow(/API_KEYS_FILE cannot be read/)
  })

  it('masks phones, names and addresses', () => {
    expect(maskPhone('13812341234')).toBe('138****1234')
    expect(maskName('Zhang Wei')).toBe('Z**** W**')
    expect(maskAddress('Xixi Garden, Building 3, Unit 2, Room 1201')).toBe('Xixi Garden, ****')
  })
})

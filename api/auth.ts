import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ConfigError, ConfigErrorCode, type Config } from '../schemas/index.js'
import { ApiError, ApiErrorCode, forbidden } from './errors.js'

/*
 * API keys and roles. Keys are stored only as SHA-256 hashes (`sha256:<hex>`): an API key is a
 * random 32-byte secret, not a password, so a fast hash is enough and lets a request be matched by
 * one lookup. Roles:
 *   admin    — all data, personal data in clear
 *   analyst  — all data, personal data masked
 *   leader   — only her communities (row scope in SQL), her customers' contact data in clear; a
 *              key may also name her own leader ids (`leaders`): she may then not filter by another
 *              leader's id, and her board shows her own orders and deliveries
 *   supplier — only his SKUs (product reports only), personal data never
 */

export const Role = ['admin', 'analyst', 'leader', 'supplier'] as const
export type Role = (typeof Role)[number]

const KeyEntry = z
  .object({
    name: z.string().min(1),
    keyHash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 hex digits> (streamcube api-key prints one)'),
    role: z.enum(Role),
    communities: z.array(z.string().min(1)).min(1).optional(),
    skus: z.array(z.string().min(1)).min(1).optional(),
    leaders: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
  .refine((e) => e.role !== 'leader' || e.communities !== undefined, { path: ['communities'], message: 'a leader key needs the communities she may read' })
  .refine((e) => e.role !== 'supplier' || e.skus !== undefined, { path: ['skus'], message: 'a supplier key needs the SKUs he may read' })
  .refine((e) => e.leaders === undefined || e.role === 'leader', { path: ['leaders'], message: 'only a leader key names leader ids' })
const KeyFile = z.array(KeyEntry)
export type ApiKeyEntry = z.output<typeof KeyEntry>

/** Who is asking, and which rows they may read (null: every row). */
export interface Principal {
  readonly name: string
  readonly role: Role
  readonly communities: readonly string[] | null
  readonly skus: readonly string[] | null
  /** A leader key's own leader ids (null: not named). */
  readonly leaders: readonly string[] | null
}

export const ANONYMOUS_ANALYST: Principal = Object.freeze({ name: 'anonymous', role: 'analyst', communities: null, skus: null, leaders: null })

/** The hash a key is stored as. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`
}

/** A new random key and the entry that stores it (for `streamcube api-key`). */
export function newApiKey(entry: Omit<ApiKeyEntry, 'keyHash'>): { key: string; entry: ApiKeyEntry } {
  const key = `sck_${randomBytes(32).toString('base64url')}`
  return { key, entry: KeyEntry.parse({ ...entry, keyHash: hashApiKey(key) }) }
}

/** Reads the keys from API_KEYS_FILE and API_KEYS; a bad entry stops start-up with the fix. */
export function loadApiKeys(config: Pick<Config, 'api'>): ApiKeyEntry[] {
  const sources: { name: string; text: string }[] = []
  if (config.api.keysFile) {
    try {
      sources.push({ name: `API_KEYS_FILE (${config.api.keysFile})`, text: readFileSync(config.api.keysFile, 'utf8') })
    } catch (err) {
      throw new ConfigError(ConfigErrorCode.INVALID, [`API_KEYS_FILE cannot be read (${(err as Error).message}): point it at a JSON file of API keys`])
    }
  }
  if (config.api.keys) sources.push({ name: 'API_KEYS', text: config.api.keys })
  const entries: ApiKeyEntry[] = []
  for (const s of sources) {
    let json: unknown
    try {
      json = JSON.parse(s.text)
    } catch (err) {
      throw new ConfigError(ConfigErrorCode.INVALID, [`${s.name} is not JSON (${(err as Error).message}): it must be an array of { name, keyHash, role, communities?, skus?, leaders? }`])
    }
    const parsed = KeyFile.safeParse(json)
    if (!parsed.success) {
      throw new ConfigError(
        ConfigErrorCode.INVALID,
        parsed.error.issues.map((i) => `${s.name}[${i.path.join('.')}] is invalid (${i.message}): each entry is { name, keyHash: "sha256:…", role: ${Role.join('|')}, communities?, skus?, leaders? }`),
      )
    }
    entries.push(...parsed.data)
  }
  const names = new Set<string>()
  for (const e of entries) {
    if (names.has(e.name)) throw new ConfigError(ConfigErrorCode.INVALID, [`API key name ${e.name} appears twice: names must be unique (they key rate limits and logs)`])
    names.add(e.name)
  }
  return entries
}

/** Resolves a request's key to a principal. */
export class KeyRing {
  private readonly byHash = new Map<string, Principal>()

  constructor(entries: readonly ApiKeyEntry[], private readonly anonymous: Principal | null) {
    for (const e of entries) {
      this.byHash.set(e.keyHash, Object.freeze({ name: e.name, role: e.role, communities: e.communities ?? null, skus: e.skus ?? null, leaders: e.leaders ?? null }))
    }
  }

  get size(): number {
    return this.byHash.size
  }

  /** The principal of a presented key (Authorization: Bearer, or X-API-Key); 401 when none matches. */
  authenticate(headers: Record<string, string | string[] | undefined>): Principal {
    const auth = headers.authorization
    const presented = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : typeof headers['x-api-key'] === 'string' ? headers['x-api-key'] : undefined
    if (!presented) {
      if (this.anonymous) return this.anonymous
      throw new ApiError(ApiErrorCode.UNAUTHORIZED, 401, 'an API key is required: send Authorization: Bearer <key> or X-API-Key')
    }
    // Looked up by the hash of the presented key: the secret itself is never compared, so the
    // lookup leaks nothing about it that a timing-safe comparison would protect.
    const principal = this.byHash.get(hashApiKey(presented))
    if (!principal) {
      throw new ApiError(ApiErrorCode.UNAUTHORIZED, 401, 'the API key is not valid')
    }
    return principal
  }
}

/**
 * The row scope of a request, as query parameters every report's SQL applies
 * (`scope_all_communities OR has(scope_communities, community_id)`): the scope is enforced by
 * ClickHouse, not by filtering results. A filter outside the caller's scope is a 403.
 */
export interface ScopeParams {
  readonly scope_all_communities: 0 | 1
  readonly scope_communities: readonly string[]
  readonly scope_all_skus: 0 | 1
  readonly scope_skus: readonly string[]
}

export function scopeParams(p: Principal, filters: { community?: readonly string[]; sku?: readonly string[]; leader?: readonly string[] }): ScopeParams {
  if (p.communities) {
    const outside = (filters.community ?? []).filter((c) => !p.communities?.includes(c))
    if (outside.length) throw forbidden(`community ${outside.join(', ')} is outside the scope of key ${p.name}`)
  }
  if (p.skus) {
    const outside = (filters.sku ?? []).filter((s) => !p.skus?.includes(s))
    if (outside.length) throw forbidden(`sku ${outside.join(', ')} is outside the scope of key ${p.name}`)
  }
  if (p.leaders) {
    const outside = (filters.leader ?? []).filter((l) => !p.leaders?.includes(l))
    if (outside.length) throw forbidden(`leader ${outside.join(', ')} is not key ${p.name}'s own`)
  }
  return {
    scope_all_communities: p.communities ? 0 : 1,
    scope_communities: p.communities ?? [],
    scope_all_skus: p.skus ? 0 : 1,
    scope_skus: p.skus ?? [],
  }
}

/** Reports that are not per SKU cannot be scoped to a supplier's SKUs: a supplier gets 403. */
export function requireRole(p: Principal, allowed: readonly Role[], what: string): void {
  if (!allowed.includes(p.role)) throw forbidden(`role ${p.role} may not read ${what}`)
}

/** Whether the caller may see personal data (names, phones, addresses) in clear. */
export function seesPii(p: Principal): boolean {
  return p.role === 'admin' || p.role === 'leader'
}

/** 13812341234 → 138****1234 */
export function maskPhone(phone: string): string {
  if (phone.length < 7) return '*'.repeat(phone.length)
  return `${phone.slice(0, 3)}${'*'.repeat(phone.length - 7)}${phone.slice(-4)}`
}

/** Zhang Wei → Z**** W** (the first letter of each part). */
export function maskName(name: string): string {
  return name
    .split(' ')
    .map((part) => (part.length ? `${[...part][0]}${'*'.repeat(Math.max(2, [...part].length - 1))}` : part))
    .join(' ')
}

/** Keeps the first part (the community), masks the rest. */
export function maskAddress(address: string): string {
  const [head] = address.split(',')
  return `${head ?? ''}, ****`
}

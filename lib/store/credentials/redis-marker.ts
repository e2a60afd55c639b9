import type { Cluster, Redis } from 'ioredis'
import { script, type ScriptDefinition } from '../lua.js'
import type { CredentialStoreLog } from './types.js'

/**
 * A credential read found its hash slot's marker gone: Redis lost its data (a restart without persistence,
 * FLUSHALL, an eviction) since `init` wrote it. The plugin answers 503, never "no authenticator".
 */
export class CredentialDataLostError extends Error {
  constructor () {
    super('fastify-otp-login: credential marker missing: Redis lost its data (restart without persistence, FLUSHALL or eviction); credential reads fail until it is restored from a backup (or the app restarts, which accepts the loss)')
    this.name = 'CredentialDataLostError'
  }
}

const markerCheck = script('cred-marker', 0).lua

/** A credential script: the marker check first, the marker as its last key (`numberOfKeys` counts it). */
export const markedScript = (name: string, numberOfKeys: number): ScriptDefinition =>
  ({ numberOfKeys, lua: markerCheck + script(name, 0).lua })

const SLOTS = 16384
const crcTable = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte << 8
  for (let bit = 0; bit < 8; bit++) crc = (crc & 0x8000) !== 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  return crc
})

/** CRC16 (XMODEM) mod 16384 of a key, honouring its `{hash tag}`: Redis Cluster's hash slot of the key. */
export function keySlot (key: string): number {
  const start = key.indexOf('{')
  const end = start === -1 ? -1 : key.indexOf('}', start + 1)
  const hashed = Buffer.from(end > start + 1 ? key.slice(start + 1, end) : key)
  let crc = 0
  for (const byte of hashed) crc = ((crc << 8) & 0xffff) ^ (crcTable[((crc >> 8) ^ byte) & 0xff] ?? 0)
  return crc % SLOTS
}

let tags: string[] | undefined

/** For each hash slot, a short hash tag that lands in it (found once, by counting: some 160 000 CRCs). */
function slotTags (): string[] {
  if (tags !== undefined) return tags
  const found: string[] = new Array<string>(SLOTS)
  let left = SLOTS
  for (let n = 0; left > 0; n++) {
    const tag = `m${n.toString(36)}`
    const slot = keySlot(`{${tag}}`)
    if (found[slot] === undefined) {
      found[slot] = tag
      left--
    }
  }
  tags = found
  return found
}

/**
 * The marker a credential key is checked against, in the key's hash slot: one per slot on a Cluster
 * (`<prefix>{<tag>}:credentials-marker`), one on a single Redis (`<prefix>credentials-marker`).
 */
export function markerKey (keyPrefix: string, dataKey: string, cluster: boolean): string {
  return cluster ? `${keyPrefix}{${slotTags()[keySlot(dataKey)] ?? ''}}:credentials-marker` : `${keyPrefix}credentials-marker`
}

/** Every marker key: what `init` writes. */
export function allMarkerKeys (keyPrefix: string, cluster: boolean): string[] {
  return cluster ? slotTags().map((tag) => `${keyPrefix}{${tag}}:credentials-marker`) : [`${keyPrefix}credentials-marker`]
}

const masters = (client: Redis | Cluster): Redis[] => client.isCluster ? (client as Cluster).nodes('master') : [client as Redis]

const nodeName = (node: Redis): string => `${node.options.host ?? 'localhost'}:${node.options.port ?? 6379}`

async function configGet (node: Redis, name: string): Promise<string> {
  const reply = await node.config('GET', name) as string[]
  return reply[1] ?? ''
}

/** What is wrong with one node's settings for keys that never expire: one sentence each. */
async function risks (node: Redis): Promise<string[]> {
  const [appendonly, save, policy] = await Promise.all([configGet(node, 'appendonly'), configGet(node, 'save'), configGet(node, 'maxmemory-policy')])
  const found: string[] = []
  if (appendonly !== 'yes' && save.trim() === '') {
    found.push(`${nodeName(node)} has neither AOF nor RDB snapshots (appendonly ${appendonly}, save ""): a restart loses every credential; set \`appendonly yes\` (or a \`save\` schedule such as \`save 3600 1 300 100 60 10000\`)`)
  }
  if (policy.startsWith('allkeys-')) {
    found.push(`${nodeName(node)} has maxmemory-policy ${policy}, which evicts credentials (keys without a TTL) when memory runs out; set \`maxmemory-policy noeviction\` (or a \`volatile-*\` policy)`)
  }
  return found
}

/** Whether an error is Redis refusing CONFIG (renamed or not allowed, as on managed Redis), not a network fault. */
const configRefused = (err: unknown): boolean => err instanceof Error && err.name === 'ReplyError'

/**
 * `init`'s checks: throws when a master would drop credentials (unless `acceptDataLoss`: then one warning),
 * warns once when CONFIG is refused; then writes the markers (SET NX, no TTL).
 */
export async function checkAndMark (client: Redis | Cluster, keyPrefix: string, acceptDataLoss: boolean, log: CredentialStoreLog): Promise<void> {
  const found: string[] = []
  try {
    for (const node of masters(client)) found.push(...await risks(node))
  } catch (err) {
    if (!configRefused(err)) throw err
    log.warn(`fastify-otp-login: could not read the Redis settings (CONFIG GET: ${(err as Error).message}); make sure this Redis persists data (AOF or RDB) and never evicts keys without a TTL, or credentials can be lost`)
  }
  if (found.length > 0) {
    const risk = `fastify-otp-login: this Redis would lose credentials (authenticators, passkeys): ${found.join('; ')}`
    if (!acceptDataLoss) throw new Error(`${risk}. Or pass \`acceptDataLoss: true\` to RedisCredentialStore to accept the risk.`)
    log.warn(`${risk}. acceptDataLoss is set: going on; after such a loss credential reads fail (503) until the app restarts, which starts afresh without them.`)
  }
  await writeMarkers(client, allMarkerKeys(keyPrefix, client.isCluster))
}

// Writes the markers it is given (SET NX), on the node it runs on. A script without declared keys may touch any
// key its node serves, so a Cluster's 16,384 markers cost one round trip per master, not one each.
const setMarkers = "for _, key in ipairs(ARGV) do redis.call('SET', key, '1', 'NX') end return #ARGV"

async function writeMarkers (client: Redis | Cluster, keys: string[]): Promise<void> {
  const byNode = new Map<Redis, string[]>()
  const rest: string[] = []
  if (client.isCluster) {
    const cluster = client as Cluster
    const masters = new Map(cluster.nodes('master').map((node) => [nodeName(node), node]))
    for (const key of keys) {
      const owner = cluster.slots[keySlot(key)]?.[0]
      const node = owner === undefined ? undefined : masters.get(owner)
      if (node === undefined) rest.push(key)
      else {
        const mine = byNode.get(node)
        if (mine === undefined) byNode.set(node, [key])
        else mine.push(key)
      }
    }
  } else {
    byNode.set(client as Redis, keys)
  }
  await Promise.all([...byNode].map(async ([node, mine]) => {
    for (let i = 0; i < mine.length; i += 4096) await node.eval(setMarkers, 0, ...mine.slice(i, i + 4096))
  }))
  // A slot whose master this client does not know yet: key by key, through the Cluster's own routing.
  for (let i = 0; i < rest.length; i += 1024) {
    await Promise.all(rest.slice(i, i + 1024).map(async (key) => await client.set(key, '1', 'NX')))
  }
}

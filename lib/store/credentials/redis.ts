import type { Cluster, Redis } from 'ioredis'
import { defineScripts, unexpected, type ScriptCall } from '../lua.js'
import { checkAndMark, CredentialDataLostError, markedScript, markerKey } from './redis-marker.js'
import type { CredentialStore, CredentialStoreLog, PasskeyIdentity, PasskeyRecord, TotpRecord, TotpState } from './types.js'

const scripts = {
  otpLoginCredGet: markedScript('cred-get', 2),
  otpLoginCredPending: markedScript('totp-pending', 2),
  otpLoginCredEnable: markedScript('totp-enable', 2),
  otpLoginCredStep: markedScript('totp-step', 2),
  otpLoginCredRecovery: markedScript('cred-recovery', 2),
  otpLoginCredRecoveryReplace: markedScript('cred-recovery-replace', 2),
  otpLoginCredSecret: markedScript('cred-secret', 2),
  otpLoginCredDisable: markedScript('cred-disable', 2),
  otpLoginCredRestore: markedScript('cred-restore', 2),
  otpLoginPasskeyAdd: markedScript('passkey-add', 2),
  otpLoginPasskeyGet: markedScript('passkey-get', 2),
  otpLoginPasskeyUse: markedScript('passkey-use', 2),
  otpLoginPasskeyChange: markedScript('passkey-change', 2),
  otpLoginPasskeyIndex: markedScript('passkey-index', 2)
}

type Lost = ['lost']
type PasskeyFields = [record: string, counter: string, usedAt: string, name: string, identity: string]

// What each script answers, as its Lua says; every one may answer ['lost'] (the marker check).
interface ScriptedClient {
  otpLoginCredGet: ScriptCall<Lost | ['none'] | ['found', string, string, number]>
  otpLoginCredPending: ScriptCall<Lost | ['saved'] | ['already-on']>
  otpLoginCredEnable: ScriptCall<Lost | ['enabled'] | ['not-pending']>
  otpLoginCredStep: ScriptCall<Lost | ['used'] | ['refused']>
  otpLoginCredRecovery: ScriptCall<Lost | ['done'] | ['refused']>
  otpLoginCredRecoveryReplace: ScriptCall<Lost | ['off'] | ['replaced', ...string[]]>
  otpLoginCredSecret: ScriptCall<Lost | ['replaced'] | ['changed']>
  otpLoginCredDisable: ScriptCall<Lost | ['none'] | ['removed', string, string, string, number, ...string[]]>
  otpLoginCredRestore: ScriptCall<Lost | ['restored'] | ['refused']>
  otpLoginPasskeyAdd: ScriptCall<Lost | ['added'] | ['taken']>
  otpLoginPasskeyGet: ScriptCall<Lost | ['none'] | ['found', string, ...PasskeyFields]>
  otpLoginPasskeyUse: ScriptCall<Lost | ['used'] | ['counter-went-back'] | ['unknown']>
  otpLoginPasskeyChange: ScriptCall<Lost | ['changed'] | ['unknown'] | ['removed', ...PasskeyFields]>
  otpLoginPasskeyIndex: ScriptCall<Lost | ['added'] | ['there'] | ['done'] | ['ids', ...string[]]>
}

export interface RedisCredentialStoreOptions {
  /** Prefix of every key; default `'otp:'`. */
  keyPrefix?: string
  /**
   * Register on a Redis without persistence or with an `allkeys-*` eviction policy (one warning instead of a
   * refusal): for development and tests. Default false.
   */
  acceptDataLoss?: boolean
}

/** The 0.1 form of the options, `new RedisTotpStore({ client, keyPrefix })` (deprecated). */
export interface RedisTotpStoreOptions extends RedisCredentialStoreOptions {
  /** An ioredis `Redis` or `Cluster` client; the store never closes it. */
  client: Redis | Cluster
}

/** The fields of a passkey that never change after it is added, kept as one JSON string. */
type FixedFields = Pick<PasskeyRecord, 'id' | 'publicKey' | 'transports' | 'createdAt' | 'backedUp'>

function passkeyOf ([record, counter, usedAt, name, identity]: PasskeyFields): PasskeyRecord {
  const fixed = JSON.parse(record) as FixedFields
  return {
    id: fixed.id,
    publicKey: fixed.publicKey,
    counter: Number(counter),
    transports: fixed.transports,
    name,
    createdAt: fixed.createdAt,
    lastUsedAt: usedAt === '' ? null : Number(usedAt),
    backedUp: fixed.backedUp,
    identity: JSON.parse(identity) as PasskeyIdentity
  }
}

/** A script's answer, or the throw of a lost marker: never read lost data as "nothing there". */
function found<R extends [string, ...unknown[]]> (reply: R): Exclude<R, Lost> {
  if (reply[0] === 'lost') throw new CredentialDataLostError()
  return reply as Exclude<R, Lost>
}

/**
 * Keeps credentials in Redis (a single server or a Cluster), every key without a TTL but a pending setup's:
 * - `<prefix>{<owner>}:totp`, a hash: `s` the encrypted secret, `on` 0 or 1, `step` the last used time step,
 *   `r:<hash>` an unused recovery code (the key of 0.1's RedisTotpStore: its data keeps working);
 * - `<prefix>{pk:<id>}`, a hash per passkey: `owner`, `rec` (its fixed fields, JSON), `counter`, `used`, `name`,
 *   `identity` (JSON); `<prefix>{<owner>}:passkeys`, a sorted set of the owner's passkey ids by creation time;
 * - markers: `<prefix>credentials-marker`, or on a Cluster one per hash slot, `<prefix>{<tag>}:credentials-marker`.
 *
 * Each method is one script, one atomic step, except where a passkey's key and its owner's index (two hash slots)
 * both change: `addPasskey` indexes first, `removePasskey` unindexes last, and a listing shows only ids whose
 * passkey names the owner, so an interrupted step leaves at worst an index entry that is never shown.
 *
 * What it guarantees about lost data: `init` writes the markers; every script checks the marker of its key's hash
 * slot before anything else, in the same round trip, and a missing marker throws `CredentialDataLostError` (the
 * plugin answers 503 on every credential read: never "no authenticator", which would let a second factor be
 * skipped). So data lost while the app runs (a restart without persistence, FLUSHALL, an eviction) is caught. An
 * app (re)started on an already wiped Redis cannot tell: `init` writes fresh markers. That is why `init` refuses a
 * Redis without persistence (AOF or RDB) or with an `allkeys-*` eviction policy, unless `acceptDataLoss`.
 */
export class RedisCredentialStore implements CredentialStore {
  private readonly client: ScriptedClient
  private readonly keyPrefix: string
  private readonly cluster: boolean
  private readonly acceptDataLoss: boolean

  constructor (private readonly redis: Redis | Cluster, { keyPrefix = 'otp:', acceptDataLoss = false }: RedisCredentialStoreOptions = {}) {
    defineScripts(redis, scripts)
    this.client = redis as unknown as ScriptedClient
    this.keyPrefix = keyPrefix
    this.cluster = redis.isCluster
    this.acceptDataLoss = acceptDataLoss
  }

  /** Refuses a Redis that would drop credentials (see the class comment), then writes the markers. */
  async init (log: CredentialStoreLog): Promise<void> {
    await checkAndMark(this.redis, this.keyPrefix, this.acceptDataLoss, log)
  }

  /** A data key and its marker: the first two arguments of every script. */
  private keys (key: string): [string, string] {
    return [key, markerKey(this.keyPrefix, key, this.cluster)]
  }

  private totp (owner: string): [string, string] {
    return this.keys(`${this.keyPrefix}{${owner}}:totp`)
  }

  private passkey (id: string): [string, string] {
    return this.keys(`${this.keyPrefix}{pk:${id}}`)
  }

  private index (owner: string): [string, string] {
    return this.keys(`${this.keyPrefix}{${owner}}:passkeys`)
  }

  async get (owner: string): Promise<TotpRecord | undefined> {
    const reply = found(await this.client.otpLoginCredGet(...this.totp(owner)))
    if (reply[0] === 'none') return undefined
    if (reply[0] === 'found') return { secret: reply[1], enabled: reply[2] === '1', recoveryCodesLeft: Number(reply[3]) }
    return unexpected(reply)
  }

  async savePending (owner: string, secret: string, ttlMs: number): Promise<boolean> {
    return found(await this.client.otpLoginCredPending(...this.totp(owner), secret, ttlMs))[0] === 'saved'
  }

  async enable (owner: string, secret: string, recoveryHashes: readonly string[], step: number): Promise<boolean> {
    return found(await this.client.otpLoginCredEnable(...this.totp(owner), secret, step, ...recoveryHashes))[0] === 'enabled'
  }

  async useStep (owner: string, step: number): Promise<boolean> {
    return found(await this.client.otpLoginCredStep(...this.totp(owner), step))[0] === 'used'
  }

  async useRecoveryCode (owner: string, hash: string): Promise<boolean> {
    return found(await this.client.otpLoginCredRecovery(...this.totp(owner), 'use', hash))[0] === 'done'
  }

  async restoreRecoveryCode (owner: string, hash: string): Promise<boolean> {
    return found(await this.client.otpLoginCredRecovery(...this.totp(owner), 'restore', hash))[0] === 'done'
  }

  async replaceRecoveryCodes (owner: string, hashes: readonly string[]): Promise<string[] | undefined> {
    const reply = found(await this.client.otpLoginCredRecoveryReplace(...this.totp(owner), ...hashes))
    if (reply[0] === 'off') return undefined
    if (reply[0] === 'replaced') return reply.slice(1)
    return unexpected(reply)
  }

  async replaceSecret (owner: string, from: string, to: string): Promise<boolean> {
    return found(await this.client.otpLoginCredSecret(...this.totp(owner), from, to))[0] === 'replaced'
  }

  async disable (owner: string): Promise<TotpState | undefined> {
    const reply = found(await this.client.otpLoginCredDisable(...this.totp(owner)))
    if (reply[0] === 'none') return undefined
    if (reply[0] !== 'removed') return unexpected(reply)
    const [, secret, on, lastStep, pttl, ...recoveryHashes] = reply
    const enabled = on === '1'
    return { secret, enabled, lastStep: Number(lastStep), recoveryHashes, ...(enabled ? {} : { expiresAt: Date.now() + Number(pttl) }) }
  }

  async restoreTotp (owner: string, state: TotpState): Promise<boolean> {
    const ttlMs = state.enabled ? 0 : Math.ceil((state.expiresAt ?? 0) - Date.now())
    const reply = found(await this.client.otpLoginCredRestore(...this.totp(owner), state.secret, state.enabled ? 1 : 0,
      state.lastStep, ttlMs, ...state.recoveryHashes))
    return reply[0] === 'restored'
  }

  async addPasskey (owner: string, passkey: PasskeyRecord): Promise<boolean> {
    // The index first: an interrupted add leaves an index entry that is never shown, never a hidden passkey.
    const indexed = found(await this.client.otpLoginPasskeyIndex(...this.index(owner), 'add', passkey.id, passkey.createdAt))
    const { id, publicKey, transports, createdAt, backedUp } = passkey
    const fixed: FixedFields = { id, publicKey, transports, createdAt, backedUp }
    const reply = found(await this.client.otpLoginPasskeyAdd(...this.passkey(id), owner, JSON.stringify(fixed),
      passkey.counter, passkey.lastUsedAt ?? '', passkey.name, JSON.stringify(passkey.identity)))
    if (reply[0] === 'added') return true
    if (indexed[0] === 'added') found(await this.client.otpLoginPasskeyIndex(...this.index(owner), 'remove', id))
    return false
  }

  /** The ids in the owner's index (some may be stale: see the class comment). */
  private async indexed (owner: string): Promise<string[]> {
    const reply = found(await this.client.otpLoginPasskeyIndex(...this.index(owner), 'list'))
    if (reply[0] === 'ids') return reply.slice(1)
    return unexpected(reply as never)
  }

  async listPasskeys (owner: string): Promise<PasskeyRecord[]> {
    const entries = await Promise.all((await this.indexed(owner)).map(async (id) => await this.findPasskey(id)))
    const mine = entries.filter((entry) => entry?.owner === owner).map((entry) => (entry as { passkey: PasskeyRecord }).passkey)
    return mine.sort((a, b) => a.createdAt - b.createdAt)
  }

  async findPasskey (id: string): Promise<{ owner: string, passkey: PasskeyRecord } | undefined> {
    const reply = found(await this.client.otpLoginPasskeyGet(...this.passkey(id)))
    if (reply[0] === 'none') return undefined
    if (reply[0] !== 'found') return unexpected(reply)
    const [, owner, ...fields] = reply
    return { owner, passkey: passkeyOf(fields) }
  }

  async usePasskey (id: string, counter: number, usedAt: number): Promise<'used' | 'counter-went-back' | 'unknown'> {
    return found(await this.client.otpLoginPasskeyUse(...this.passkey(id), counter, usedAt))[0]
  }

  async renamePasskey (owner: string, id: string, name: string): Promise<boolean> {
    return found(await this.client.otpLoginPasskeyChange(...this.passkey(id), owner, 'name', name))[0] === 'changed'
  }

  async removePasskey (owner: string, id: string): Promise<PasskeyRecord | undefined> {
    const reply = found(await this.client.otpLoginPasskeyChange(...this.passkey(id), owner, 'remove', ''))
    if (reply[0] === 'unknown') return undefined
    if (reply[0] !== 'removed') return unexpected(reply as never)
    // Unindexed last: an interrupted removal leaves an index entry whose passkey is gone, never shown.
    found(await this.client.otpLoginPasskeyIndex(...this.index(owner), 'remove', id))
    const [, ...fields] = reply
    return passkeyOf(fields)
  }

  async rebindPasskeys (owner: string, identity: PasskeyIdentity): Promise<number> {
    const json = JSON.stringify({ kind: identity.kind, value: identity.value })
    const replies = await Promise.all((await this.indexed(owner)).map(async (id) =>
      found(await this.client.otpLoginPasskeyChange(...this.passkey(id), owner, 'identity', json))))
    return replies.filter((reply) => reply[0] === 'changed').length
  }
}

/**
 * @deprecated The 0.1 name of `RedisCredentialStore`; goes in 0.3. Also takes the 0.1 form,
 * `new RedisTotpStore({ client, keyPrefix })`.
 */
export class RedisTotpStore extends RedisCredentialStore {
  constructor (client: Redis | Cluster | RedisTotpStoreOptions, options: RedisCredentialStoreOptions = {}) {
    if ('client' in client && !('defineCommand' in client)) super(client.client, { ...options, ...client })
    else super(client as Redis | Cluster, options)
  }
}

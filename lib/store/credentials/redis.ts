import type { Cluster, Redis } from 'ioredis'
import { defineScripts, script, type ScriptCall } from '../lua.js'
import type { TotpRecord, TotpStore } from './types.js'

const scripts = {
  otpLoginTotpPending: script('totp-pending', 1),
  otpLoginTotpEnable: script('totp-enable', 1),
  otpLoginTotpStep: script('totp-step', 1)
}

// What each script answers, as its Lua says.
interface ScriptedClient {
  otpLoginTotpPending: ScriptCall<['saved'] | ['already-on']>
  otpLoginTotpEnable: ScriptCall<['enabled'] | ['not-pending']>
  otpLoginTotpStep: ScriptCall<['used'] | ['refused']>
  hmget: (key: string, ...fields: string[]) => Promise<Array<string | null>>
  hdel: (key: string, field: string) => Promise<number>
  del: (key: string) => Promise<number>
}

export interface RedisTotpStoreOptions {
  /** An ioredis `Redis` or `Cluster` client; the store never closes it. */
  client: Redis | Cluster
  /** Prefix of every key; default `'otp:'`. */
  keyPrefix?: string
}

/**
 * Keeps authenticator state in Redis: one hash per identifier, `<prefix>{<identifier>}:totp`, under the same
 * hash tag as its OTP keys. A pending setup expires; an enabled one has no TTL, so this Redis needs
 * persistence (AOF or RDB) and an eviction policy that never evicts keys without a TTL.
 * Fields: `s` the encrypted secret, `on` 0 or 1, `step` the last used time step, `r:<hash>` an unused recovery code.
 */
export class RedisTotpStore implements TotpStore {
  private readonly client: ScriptedClient
  private readonly keyPrefix: string

  constructor ({ client, keyPrefix = 'otp:' }: RedisTotpStoreOptions) {
    defineScripts(client, scripts)
    this.client = client as unknown as ScriptedClient
    this.keyPrefix = keyPrefix
  }

  private key (identifier: string): string {
    return `${this.keyPrefix}{${identifier}}:totp`
  }

  async get (identifier: string): Promise<TotpRecord | undefined> {
    const [secret, on] = await this.client.hmget(this.key(identifier), 's', 'on')
    return secret ? { secret, enabled: on === '1' } : undefined
  }

  async savePending (identifier: string, secret: string, ttlMs: number): Promise<boolean> {
    const [word] = await this.client.otpLoginTotpPending(this.key(identifier), secret, ttlMs)
    return word === 'saved'
  }

  async enable (identifier: string, secret: string, recoveryHashes: readonly string[], step: number): Promise<boolean> {
    const [word] = await this.client.otpLoginTotpEnable(this.key(identifier), secret, step, ...recoveryHashes)
    return word === 'enabled'
  }

  async useStep (identifier: string, step: number): Promise<boolean> {
    const [word] = await this.client.otpLoginTotpStep(this.key(identifier), step)
    return word === 'used'
  }

  async useRecoveryCode (identifier: string, hash: string): Promise<boolean> {
    // Recovery fields exist only once TOTP is on, and one HDEL is atomic: no script needed.
    return await this.client.hdel(this.key(identifier), `r:${hash}`) === 1
  }

  async disable (identifier: string): Promise<undefined> {
    await this.client.del(this.key(identifier))
    return undefined
  }
}

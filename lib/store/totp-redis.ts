import type { Cluster, Redis } from 'ioredis'
import { script } from './redis.js'
import type { TotpRecord, TotpStore } from './totp-types.js'

const scripts = {
  otpLoginTotpPending: { numberOfKeys: 1, lua: script('totp-pending') },
  otpLoginTotpEnable: { numberOfKeys: 1, lua: script('totp-enable') },
  otpLoginTotpStep: { numberOfKeys: 1, lua: script('totp-step') }
}

type ScriptCall = (...args: Array<string | number>) => Promise<number>
interface ScriptedClient {
  otpLoginTotpPending: ScriptCall
  otpLoginTotpEnable: ScriptCall
  otpLoginTotpStep: ScriptCall
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
    for (const [name, definition] of Object.entries(scripts)) {
      if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function') client.defineCommand(name, definition)
    }
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
    return await this.client.otpLoginTotpPending(this.key(identifier), secret, ttlMs) === 1
  }

  async enable (identifier: string, secret: string, recoveryHashes: readonly string[], step: number): Promise<boolean> {
    return await this.client.otpLoginTotpEnable(this.key(identifier), secret, step, ...recoveryHashes) === 1
  }

  async useStep (identifier: string, step: number): Promise<boolean> {
    return await this.client.otpLoginTotpStep(this.key(identifier), step) === 1
  }

  async useRecoveryCode (identifier: string, hash: string): Promise<boolean> {
    // Recovery fields exist only once TOTP is on, and one HDEL is atomic: no script needed.
    return await this.client.hdel(this.key(identifier), `r:${hash}`) === 1
  }

  async disable (identifier: string): Promise<void> {
    await this.client.del(this.key(identifier))
  }
}

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'
import type {
  BudgetResult, FailurePolicy, GuessResult, IssuePolicy, IssueResult, OtpStore, RotateResult, SessionPolicy,
  VerifyPolicy, VerifyResult
} from './types.js'
import { SPENT_KEPT } from './types.js'

export const script = (name: string): string => readFileSync(join(__dirname, 'scripts', `${name}.lua`), 'utf8')
const scripts = {
  otpLoginIssue: { numberOfKeys: 4, lua: script('issue') },
  otpLoginRevoke: { numberOfKeys: 3, lua: script('revoke') },
  otpLoginVerify: { numberOfKeys: 5, lua: script('verify') },
  otpLoginGuess: { numberOfKeys: 2, lua: script('guess') },
  otpLoginLockout: { numberOfKeys: 3, lua: script('lockout') },
  otpLoginSessionCreate: { numberOfKeys: 1, lua: script('session-create') },
  otpLoginSessionRotate: { numberOfKeys: 3, lua: script('session-rotate') },
  otpLoginSessionEnd: { numberOfKeys: 3, lua: script('session-end') },
  otpLoginCount: { numberOfKeys: 1, lua: script('count') }
}

type ScriptCall<R = [number, number]> = (...args: Array<string | number>) => Promise<R>
interface ScriptedClient {
  otpLoginIssue: ScriptCall
  otpLoginRevoke: ScriptCall
  otpLoginVerify: ScriptCall
  otpLoginGuess: ScriptCall
  otpLoginLockout: ScriptCall<number>
  otpLoginSessionCreate: ScriptCall<number>
  otpLoginSessionRotate: ScriptCall<[number, string?]>
  otpLoginSessionEnd: ScriptCall<number>
  otpLoginCount: ScriptCall
  exists: (key: string) => Promise<number>
  pttl: (key: string) => Promise<number>
  del: (key: string) => Promise<number>
}

/** Registers the plugin's scripts on a client, once (ioredis keeps them per client, as commands). */
export function defineScripts (client: Redis | Cluster): void {
  for (const [name, definition] of Object.entries(scripts)) {
    if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function') client.defineCommand(name, definition)
  }
}

export interface RedisStoreOptions {
  /** An ioredis `Redis` or `Cluster` client; the store never closes it. */
  client: Redis | Cluster
  /** Prefix of every key; default `'otp:'`. */
  keyPrefix?: string
}

/**
 * Keeps OTP state in Redis. Each operation is one Lua script (one round trip), defined once per client with
 * `defineCommand`; every key gets its TTL inside the script, and all keys of one identifier share a
 * `{hash tag}` so the scripts run on Redis Cluster too.
 */
export class RedisStore implements OtpStore {
  private readonly client: ScriptedClient
  private readonly keyPrefix: string

  constructor ({ client, keyPrefix = 'otp:' }: RedisStoreOptions) {
    defineScripts(client)
    this.client = client as unknown as ScriptedClient
    this.keyPrefix = keyPrefix
  }

  private keys (identifier: string): { code: string, sends: string, last: string, lock: string, fails: string } {
    const base = `${this.keyPrefix}{${identifier}}:`
    return { code: base + 'code', sends: base + 'sends', last: base + 'last', lock: base + 'lock', fails: base + 'fails' }
  }

  private sessionKeys (familyId: string): { session: string, revoked: string, spent: string } {
    const base = `${this.keyPrefix}sess:{${familyId}}`
    return { session: base, revoked: base + ':revoked', spent: base + ':spent' }
  }

  async issueCode (identifier: string, codeHash: string, policy: IssuePolicy): Promise<IssueResult> {
    const k = this.keys(identifier)
    const [status, retryAfterMs] = await this.client.otpLoginIssue(
      k.code, k.sends, k.last, k.lock,
      codeHash, policy.codeTtlMs, policy.maxSends, policy.windowMs, policy.resendIntervalMs
    )
    switch (status) {
      case 0: return { status: 'issued' }
      case 2: return { status: 'too_soon', retryAfterMs }
      default: return { status: 'locked', retryAfterMs, reason: status === 3 ? 'max-sends' : 'locked' }
    }
  }

  async revokeCode (identifier: string, codeHash: string, giveSendBack: boolean): Promise<void> {
    const k = this.keys(identifier)
    await this.client.otpLoginRevoke(k.code, k.sends, k.last, codeHash, giveSendBack ? 1 : 0)
  }

  async verifyCode (identifier: string, codeHash: string, policy: VerifyPolicy): Promise<VerifyResult> {
    const k = this.keys(identifier)
    const [status, retryAfterMs] = await this.client.otpLoginVerify(
      k.code, k.sends, k.last, k.lock, k.fails,
      codeHash, policy.maxAttempts, policy.maxFailures, policy.lockoutMs
    )
    switch (status) {
      case 0: return { status: 'ok' }
      case 1: return { status: 'locked', retryAfterMs, lockedNow: false }
      case 4: return { status: 'locked', retryAfterMs, lockedNow: true }
      case 3: return { status: 'burned' }
      default: return { status: 'invalid' }
    }
  }

  async reserveGuess (identifier: string, policy: FailurePolicy): Promise<GuessResult> {
    const k = this.keys(identifier)
    const [status, value] = await this.client.otpLoginGuess(k.lock, k.fails, policy.maxFailures, policy.lockoutMs)
    return status === 0 ? { status: 'reserved', last: value === 1 } : { status: 'locked', retryAfterMs: value }
  }

  async lockOut (identifier: string, lockoutMs: number): Promise<void> {
    const k = this.keys(identifier)
    await this.client.otpLoginLockout(k.code, k.lock, k.fails, lockoutMs)
  }

  async clearFailures (identifier: string): Promise<void> {
    await this.client.del(this.keys(identifier).fails)
  }

  async consumeBudget (budget: string, limit: number, windowMs: number): Promise<BudgetResult> {
    const [count, ttl] = await this.client.otpLoginCount(`${this.keyPrefix}budget:{${budget}}`, windowMs)
    return count <= limit ? { status: 'ok' } : { status: 'exceeded', retryAfterMs: ttl }
  }

  async createSession (familyId: string, tokenHash: string, claims: string, ttlMs: number): Promise<void> {
    await this.client.otpLoginSessionCreate(this.sessionKeys(familyId).session, tokenHash, claims, ttlMs)
  }

  async rotateSession (familyId: string, tokenHash: string, newHash: string, policy: SessionPolicy): Promise<RotateResult> {
    const k = this.sessionKeys(familyId)
    const [status, claims] = await this.client.otpLoginSessionRotate(
      k.session, k.revoked, k.spent, tokenHash, newHash, policy.ttlMs, policy.revokedForMs, SPENT_KEPT
    )
    if (status === 0 && claims !== undefined) return { status: 'ok', claims }
    return { status: status === 1 ? 'reused' : 'invalid' }
  }

  async endSession (familyId: string, revokedForMs: number): Promise<boolean> {
    const k = this.sessionKeys(familyId)
    return await this.client.otpLoginSessionEnd(k.session, k.revoked, k.spent, revokedForMs) === 1
  }

  async isSessionRevoked (familyId: string): Promise<boolean> {
    return await this.client.exists(this.sessionKeys(familyId).revoked) === 1
  }
}

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'
import type {
  BudgetResult, ChallengeResult, EndResult, EndScope, FailurePolicy, GuessResult, IssuePolicy, IssueResult, NewSession,
  OtpStore, RotateResult, SessionEnd, SessionInfo, SessionPolicy, VerifyPolicy, VerifyResult
} from './types.js'
import { SPENT_KEPT } from './types.js'

export const script = (name: string): string => readFileSync(join(__dirname, 'scripts', `${name}.lua`), 'utf8')
const scripts = {
  otpLoginIssue: { numberOfKeys: 4, lua: script('issue') },
  otpLoginRevoke: { numberOfKeys: 3, lua: script('revoke') },
  otpLoginVerify: { numberOfKeys: 5, lua: script('verify') },
  otpLoginGuess: { numberOfKeys: 2, lua: script('guess') },
  otpLoginRefund: { numberOfKeys: 1, lua: script('refund') },
  otpLoginLockout: { numberOfKeys: 3, lua: script('lockout') },
  otpLoginChallengeCreate: { numberOfKeys: 1, lua: script('challenge-create') },
  otpLoginChallengeReserve: { numberOfKeys: 3, lua: script('challenge-reserve') },
  otpLoginChallengeRefund: { numberOfKeys: 2, lua: script('challenge-refund') },
  otpLoginChallengeConsume: { numberOfKeys: 5, lua: script('challenge-consume') },
  otpLoginReset: { numberOfKeys: 4, lua: script('reset') },
  otpLoginSessionCreate: { numberOfKeys: 1, lua: script('session-create') },
  otpLoginSessionRotate: { numberOfKeys: 1, lua: script('session-rotate') },
  otpLoginSessionEnd: { numberOfKeys: 1, lua: script('session-end') },
  otpLoginSessionList: { numberOfKeys: 1, lua: script('session-list') },
  otpLoginCount: { numberOfKeys: 1, lua: script('count') }
}

type ScriptCall<R = [number, number]> = (...args: Array<string | number>) => Promise<R>
interface ScriptedClient {
  otpLoginIssue: ScriptCall
  otpLoginRevoke: ScriptCall
  otpLoginVerify: ScriptCall
  otpLoginGuess: ScriptCall
  otpLoginRefund: ScriptCall<number>
  otpLoginLockout: ScriptCall<number>
  otpLoginChallengeCreate: ScriptCall<number>
  otpLoginChallengeReserve: ScriptCall<[number, (string | number)?, number?, number?]>
  otpLoginChallengeRefund: ScriptCall<number>
  otpLoginChallengeConsume: ScriptCall<number>
  otpLoginReset: ScriptCall<number>
  otpLoginSessionCreate: ScriptCall<string[]>
  otpLoginSessionRotate: ScriptCall<[number, string?]>
  otpLoginSessionEnd: ScriptCall<[number, ...string[]]>
  otpLoginSessionList: ScriptCall<Array<string | number>>
  otpLoginCount: ScriptCall
  exists: (key: string) => Promise<number>
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
  /**
   * A pub/sub channel on which the session scripts announce the ids of the sessions they end (space-separated),
   * in the same round trip; the plugin's session cache listens there. None by default.
   */
  endedChannel?: string
}

/**
 * Keeps OTP state in Redis. Each operation is one Lua script (one round trip), defined once per client with
 * `defineCommand`; every key gets its TTL inside the script. All keys of one identifier share the hash tag
 * `{identifier}`, and all keys of one user's sessions the hash tag `{u:userKey}`, so every script touches one
 * slot and runs on Redis Cluster too.
 */
export class RedisStore implements OtpStore {
  private readonly client: ScriptedClient
  private readonly keyPrefix: string
  private readonly endedChannel: string

  constructor ({ client, keyPrefix = 'otp:', endedChannel = '' }: RedisStoreOptions) {
    defineScripts(client)
    this.client = client as unknown as ScriptedClient
    this.keyPrefix = keyPrefix
    this.endedChannel = endedChannel
  }

  /** The keys of an identifier's code and counters, or of one trusted device's for it. */
  private keys (identifier: string, device?: string): { code: string, sends: string, last: string, lock: string, fails: string } {
    const base = `${this.keyPrefix}{${identifier}}:${device === undefined ? '' : `d:${device}:`}`
    return { code: base + 'code', sends: base + 'sends', last: base + 'last', lock: base + 'lock', fails: base + 'fails' }
  }

  private challengeKey (identifier: string, challengeId: string): string {
    return `${this.keyPrefix}{${identifier}}:mfa:${challengeId}`
  }

  /** A user's session index and the prefix of their session keys, under one hash tag. */
  private userKeys (userKey: string): { index: string, base: string } {
    const base = `${this.keyPrefix}{u:${userKey}}:`
    return { index: base + 'sessions', base: base + 's:' }
  }

  async issueCode (identifier: string, codeHash: string, policy: IssuePolicy, device?: string): Promise<IssueResult> {
    const k = this.keys(identifier, device)
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

  async revokeCode (identifier: string, codeHash: string, giveSendBack: boolean, device?: string): Promise<void> {
    const k = this.keys(identifier, device)
    await this.client.otpLoginRevoke(k.code, k.sends, k.last, codeHash, giveSendBack ? 1 : 0)
  }

  async verifyCode (identifier: string, codeHash: string, policy: VerifyPolicy, device?: string): Promise<VerifyResult> {
    const k = this.keys(identifier, device)
    const [status, retryAfterMs] = await this.client.otpLoginVerify(
      k.code, k.sends, k.last, k.lock, k.fails,
      codeHash, policy.maxAttempts, policy.maxFailures, policy.lockoutMs, policy.deferReset === true ? 1 : 0
    )
    switch (status) {
      case 0: return { status: 'ok' }
      case 1: return { status: 'locked', retryAfterMs, lockedNow: false }
      case 4: return { status: 'locked', retryAfterMs, lockedNow: true }
      case 3: return { status: 'burned' }
      default: return { status: 'invalid' }
    }
  }

  async reserveGuess (identifier: string, policy: FailurePolicy, device?: string): Promise<GuessResult> {
    const k = this.keys(identifier, device)
    const [status, value] = await this.client.otpLoginGuess(k.lock, k.fails, policy.maxFailures, policy.lockoutMs)
    return status === 0 ? { status: 'reserved', last: value === 1 } : { status: 'locked', retryAfterMs: value }
  }

  async refundGuess (identifier: string, device?: string): Promise<void> {
    await this.client.otpLoginRefund(this.keys(identifier, device).fails)
  }

  async lockOut (identifier: string, lockoutMs: number, device?: string): Promise<void> {
    const k = this.keys(identifier, device)
    await this.client.otpLoginLockout(k.code, k.lock, k.fails, lockoutMs)
  }

  async clearFailures (identifier: string, device?: string): Promise<void> {
    await this.client.del(this.keys(identifier, device).fails)
  }

  async resetCounters (identifier: string, device?: string): Promise<void> {
    const k = this.keys(identifier, device)
    await this.client.otpLoginReset(k.sends, k.last, k.lock, k.fails)
  }

  async consumeBudget (budget: string, limit: number, windowMs: number): Promise<BudgetResult> {
    const [count, ttl] = await this.client.otpLoginCount(`${this.keyPrefix}budget:{${budget}}`, windowMs)
    return count <= limit ? { status: 'ok' } : { status: 'exceeded', retryAfterMs: ttl }
  }

  async createChallenge (identifier: string, challengeId: string, data: string, ttlMs: number): Promise<void> {
    await this.client.otpLoginChallengeCreate(this.challengeKey(identifier, challengeId), data, ttlMs)
  }

  async reserveChallenge (identifier: string, challengeId: string, policy: VerifyPolicy, device?: string): Promise<ChallengeResult> {
    const k = this.keys(identifier, device)
    const [status, data, attempts, last] = await this.client.otpLoginChallengeReserve(
      this.challengeKey(identifier, challengeId), k.lock, k.fails, policy.maxAttempts, policy.maxFailures, policy.lockoutMs
    )
    switch (status) {
      case 0: return { status: 'reserved', data: String(data), attempts: Number(attempts), last: last === 1 }
      case 2: return { status: 'burned' }
      case 3: return { status: 'locked', retryAfterMs: Number(data) }
      default: return { status: 'invalid' }
    }
  }

  async refundChallenge (identifier: string, challengeId: string, device?: string): Promise<void> {
    await this.client.otpLoginChallengeRefund(this.challengeKey(identifier, challengeId), this.keys(identifier, device).fails)
  }

  async consumeChallenge (identifier: string, challengeId: string, device?: string): Promise<boolean> {
    const k = this.keys(identifier, device)
    return await this.client.otpLoginChallengeConsume(this.challengeKey(identifier, challengeId), k.sends, k.last, k.lock, k.fails) === 1
  }

  async createSession (userKey: string, sessionId: string, record: NewSession, policy: SessionPolicy): Promise<SessionEnd> {
    const k = this.userKeys(userKey)
    const ended = await this.client.otpLoginSessionCreate(
      k.index, k.base, sessionId, record.tokenHash, record.claims, record.amr, policy.now, policy.ttlMs, policy.maxSessions ?? 1_000_000_000,
      this.endedChannel
    )
    return { ended }
  }

  async rotateSession (userKey: string, sessionId: string, tokenHash: string, newHash: string, policy: SessionPolicy): Promise<RotateResult> {
    const k = this.userKeys(userKey)
    const [status, claims] = await this.client.otpLoginSessionRotate(
      k.index, k.base, sessionId, tokenHash, newHash, policy.now, policy.ttlMs, SPENT_KEPT, this.endedChannel
    )
    if (status === 0 && claims !== undefined) return { status: 'ok', claims }
    return { status: status === 1 ? 'reused' : 'invalid' }
  }

  async isSessionLive (userKey: string, sessionId: string): Promise<boolean> {
    return await this.client.exists(this.userKeys(userKey).base + sessionId) === 1
  }

  async endSessions (userKey: string, scope: EndScope, sessionId = ''): Promise<EndResult> {
    const k = this.userKeys(userKey)
    const [status, ...ended] = await this.client.otpLoginSessionEnd(k.index, k.base, scope, sessionId, this.endedChannel)
    return status === 0 ? { status: 'ok', ended } : { status: 'not-live' }
  }

  async listSessions (userKey: string): Promise<SessionInfo[]> {
    const k = this.userKeys(userKey)
    const flat = await this.client.otpLoginSessionList(k.index, k.base)
    const now = Date.now()
    const sessions: SessionInfo[] = []
    for (let i = 0; i + 4 < flat.length; i += 5) {
      sessions.push({
        id: String(flat[i]),
        createdAt: Number(flat[i + 1]),
        lastUsedAt: Number(flat[i + 2]),
        expiresAt: now + Number(flat[i + 3]),
        amr: String(flat[i + 4])
      })
    }
    return sessions
  }
}

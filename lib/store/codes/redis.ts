import type { Cluster, Redis } from 'ioredis'
import { defineScripts, script, unexpected, type Done, type ScriptCall } from '../lua.js'
import type {
  BudgetResult, ChallengeResult, CodeStore, FailurePolicy, GuessResult, IssuePolicy, IssueResult, VerifyPolicy, VerifyResult
} from './types.js'

const scripts = {
  otpLoginIssue: script('issue', 5),
  otpLoginRevoke: script('revoke', 4),
  otpLoginVerify: script('verify', 5),
  otpLoginGuess: script('guess', 2),
  otpLoginRefund: script('refund', 1),
  otpLoginLockout: script('lockout', 3),
  otpLoginReset: script('reset', 4),
  otpLoginBudget: script('budget', 1),
  otpLoginChallengeCreate: script('challenge-create', 1),
  otpLoginChallengeReserve: script('challenge-reserve', 3),
  otpLoginChallengeRefund: script('challenge-refund', 2),
  otpLoginChallengeConsume: script('challenge-consume', 5)
}

// What each script answers, as its Lua says: a word first, then what goes with it.
type IssueReply = ['issued'] | ['locked' | 'max-sends' | 'max-sends-per-identifier' | 'too_soon', number]
type VerifyReply = ['ok'] | ['invalid'] | ['burned'] | ['locked' | 'locked-now', number]
type GuessReply = ['reserved'] | ['reserved', 'last'] | ['locked', number] | ['busy']
type ChallengeReply = ['reserved', string, number] | ['reserved', string, number, 'last'] | ['invalid'] | ['burned'] | ['locked', number] | ['busy']

interface ScriptedClient {
  otpLoginIssue: ScriptCall<IssueReply>
  otpLoginRevoke: ScriptCall<['revoked'] | ['not-current']>
  otpLoginVerify: ScriptCall<VerifyReply>
  otpLoginGuess: ScriptCall<GuessReply>
  otpLoginRefund: ScriptCall<Done>
  otpLoginLockout: ScriptCall<Done>
  otpLoginReset: ScriptCall<Done>
  otpLoginBudget: ScriptCall<['ok'] | ['exceeded', number]>
  otpLoginChallengeCreate: ScriptCall<Done>
  otpLoginChallengeReserve: ScriptCall<ChallengeReply>
  otpLoginChallengeRefund: ScriptCall<Done>
  otpLoginChallengeConsume: ScriptCall<['spent'] | ['gone']>
  del: (key: string) => Promise<number>
  set: (key: string, value: string, px: 'PX', ttlMs: number) => Promise<unknown>
}

function issueResult (reply: IssueReply): IssueResult {
  switch (reply[0]) {
    case 'issued': return { status: 'issued' }
    case 'too_soon': return { status: 'too_soon', retryAfterMs: reply[1] }
    case 'locked': case 'max-sends': case 'max-sends-per-identifier': return { status: 'locked', retryAfterMs: reply[1], reason: reply[0] }
    default: return unexpected(reply)
  }
}

function verifyResult (reply: VerifyReply): VerifyResult {
  switch (reply[0]) {
    case 'ok': case 'invalid': case 'burned': return { status: reply[0] }
    case 'locked': case 'locked-now': return { status: 'locked', retryAfterMs: reply[1], lockedNow: reply[0] === 'locked-now' }
    default: return unexpected(reply)
  }
}

function guessResult (reply: GuessReply): GuessResult {
  switch (reply[0]) {
    case 'reserved': return { status: 'reserved', last: reply[1] === 'last' }
    case 'locked': return { status: 'locked', retryAfterMs: reply[1] }
    case 'busy': return { status: 'busy' }
    default: return unexpected(reply)
  }
}

function challengeResult (reply: ChallengeReply): ChallengeResult {
  switch (reply[0]) {
    case 'reserved': return { status: 'reserved', data: reply[1], attempts: reply[2], last: reply[3] === 'last' }
    case 'invalid': case 'burned': case 'busy': return { status: reply[0] }
    case 'locked': return { status: 'locked', retryAfterMs: reply[1] }
    default: return unexpected(reply)
  }
}

export interface RedisCodeStoreOptions {
  /** An ioredis `Redis` or `Cluster` client; the store never closes it. */
  client: Redis | Cluster
  /** Prefix of every key; default `'otp:'`. */
  keyPrefix?: string
}

/**
 * Codes, counters, budgets and challenges in Redis. Each operation is one Lua script (one round trip), defined
 * once per client; every key gets its TTL inside the script. All keys of one identifier share the hash tag
 * `{identifier}`, so every script touches one slot and runs on Redis Cluster too.
 */
export class RedisCodeStore implements CodeStore {
  private readonly client: ScriptedClient
  private readonly keyPrefix: string

  constructor ({ client, keyPrefix = 'otp:' }: RedisCodeStoreOptions) {
    defineScripts(client, scripts)
    this.client = client as unknown as ScriptedClient
    this.keyPrefix = keyPrefix
  }

  /** The keys of an identifier's code and counters, or of one trusted device's for it. */
  private keys (identifier: string, device?: string): { code: string, sends: string, last: string, lock: string, fails: string } {
    const base = `${this.keyPrefix}{${identifier}}:${device === undefined ? '' : `d:${device}:`}`
    return { code: base + 'code', sends: base + 'sends', last: base + 'last', lock: base + 'lock', fails: base + 'fails' }
  }

  /** The identifier's ceiling (`maxSendsPerIdentifier`): one count for it and all its devices, in their slot. */
  private ceilingKey (identifier: string): string {
    return `${this.keyPrefix}{${identifier}}:ceiling`
  }

  /** A send budget's counter, in a slot of its own. */
  private budgetKey (budget: string): string {
    return `${this.keyPrefix}budget:{${budget}}`
  }

  private challengeKey (identifier: string, challengeId: string): string {
    return `${this.keyPrefix}{${identifier}}:mfa:${challengeId}`
  }

  async issueCode (identifier: string, codeHash: string, policy: IssuePolicy, device?: string): Promise<IssueResult> {
    const k = this.keys(identifier, device)
    return issueResult(await this.client.otpLoginIssue(
      k.code, k.sends, k.last, k.lock, this.ceilingKey(identifier),
      codeHash, policy.codeTtlMs, policy.maxSends, policy.windowMs, policy.resendIntervalMs, policy.maxSendsPerIdentifier ?? 0
    ))
  }

  async revokeCode (identifier: string, codeHash: string, giveSendBack: boolean, device?: string): Promise<void> {
    const k = this.keys(identifier, device)
    await this.client.otpLoginRevoke(k.code, k.sends, k.last, this.ceilingKey(identifier), codeHash, giveSendBack ? 1 : 0)
  }

  async verifyCode (identifier: string, codeHash: string, policy: VerifyPolicy, device?: string): Promise<VerifyResult> {
    const k = this.keys(identifier, device)
    return verifyResult(await this.client.otpLoginVerify(
      k.code, k.sends, k.last, k.lock, k.fails,
      codeHash, policy.maxAttempts, policy.maxFailures, policy.lockoutMs, policy.deferReset === true ? 1 : 0
    ))
  }

  async consumeBudget (budget: string, limit: number, windowMs: number): Promise<BudgetResult> {
    const reply = await this.client.otpLoginBudget(this.budgetKey(budget), limit, windowMs)
    switch (reply[0]) {
      case 'ok': return { status: 'ok' }
      case 'exceeded': return { status: 'exceeded', retryAfterMs: reply[1] }
      default: return unexpected(reply)
    }
  }

  async refundBudget (budget: string): Promise<void> {
    await this.client.otpLoginRefund(this.budgetKey(budget))
  }

  async reserveGuess (identifier: string, policy: FailurePolicy, device?: string): Promise<GuessResult> {
    const k = this.keys(identifier, device)
    return guessResult(await this.client.otpLoginGuess(k.lock, k.fails, policy.maxFailures, policy.lockoutMs))
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

  async createChallenge (identifier: string, challengeId: string, data: string, ttlMs: number): Promise<void> {
    await this.client.otpLoginChallengeCreate(this.challengeKey(identifier, challengeId), data, ttlMs)
  }

  async reserveChallenge (identifier: string, challengeId: string, policy: VerifyPolicy, device?: string): Promise<ChallengeResult> {
    const k = this.keys(identifier, device)
    return challengeResult(await this.client.otpLoginChallengeReserve(
      this.challengeKey(identifier, challengeId), k.lock, k.fails, policy.maxAttempts, policy.maxFailures, policy.lockoutMs
    ))
  }

  async refundChallenge (identifier: string, challengeId: string, device?: string): Promise<void> {
    await this.client.otpLoginChallengeRefund(this.challengeKey(identifier, challengeId), this.keys(identifier, device).fails)
  }

  async consumeChallenge (identifier: string, challengeId: string, device?: string): Promise<boolean> {
    const k = this.keys(identifier, device)
    const [word] = await this.client.otpLoginChallengeConsume(this.challengeKey(identifier, challengeId), k.sends, k.last, k.lock, k.fails)
    return word === 'spent'
  }

  /** A passkey challenge's key, in a slot of its own. */
  private passkeyChallengeKey (challengeHash: string): string {
    return `${this.keyPrefix}passkey:{${challengeHash}}`
  }

  async savePasskeyChallenge (challengeHash: string, ttlMs: number): Promise<void> {
    await this.client.set(this.passkeyChallengeKey(challengeHash), '1', 'PX', ttlMs)
  }

  // DEL is atomic and counts an expired key as gone: one caller ever gets 1.
  async takePasskeyChallenge (challengeHash: string): Promise<boolean> {
    return await this.client.del(this.passkeyChallengeKey(challengeHash)) === 1
  }
}

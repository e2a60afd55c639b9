import { equalHashes, live, type Counter, type Expiring } from '../expiring.js'
import type {
  BudgetResult, ChallengeResult, CodeStore, FailurePolicy, GuessResult, IssuePolicy, IssueResult, VerifyPolicy, VerifyResult
} from './types.js'

interface IdentityState {
  code?: { hash: string, attempts: number, until: number }
  sends?: Counter
  last?: Expiring
  fails?: Counter
  lock?: Expiring
}

interface Challenge extends Expiring {
  data: string
  attempts: number
}

// A trusted device's state for an identifier lives beside the identifier's own, under its own key.
const scoped = (identifier: string, device?: string): string => device === undefined ? identifier : `${identifier}\n${device}`

/**
 * Codes, counters, budgets and challenges in this process, with the same semantics as `RedisCodeStore`. Every
 * method runs synchronously to its end, which makes each one atomic in Node's single thread. Expired entries
 * stay until read or swept (`sweep`, which `MemoryStore` runs on a timer).
 */
export class MemoryCodeStore implements CodeStore {
  private readonly states = new Map<string, IdentityState>()
  private readonly challenges = new Map<string, Challenge>()
  private readonly passkeyChallenges = new Map<string, Expiring>()
  private readonly budgets = new Map<string, Counter>()
  // Codes per identifier, its own and its devices' together (`maxSendsPerIdentifier`); no sign-in resets them.
  private readonly ceilings = new Map<string, Counter>()

  constructor (private readonly now: () => number) {}

  /** Number of identifiers, challenges, budgets and ceilings with state, live or not yet swept. */
  get size (): number {
    return this.states.size + this.challenges.size + this.budgets.size + this.ceilings.size + this.passkeyChallenges.size
  }

  sweep (): void {
    const now = this.now()
    for (const [key, state] of this.states) this.prune(key, state, now)
    for (const [key, challenge] of this.challenges) if (!live(challenge, now)) this.challenges.delete(key)
    for (const [hash, challenge] of this.passkeyChallenges) if (!live(challenge, now)) this.passkeyChallenges.delete(hash)
    for (const [budget, counter] of this.budgets) if (!live(counter, now)) this.budgets.delete(budget)
    for (const [identifier, counter] of this.ceilings) if (!live(counter, now)) this.ceilings.delete(identifier)
  }

  private prune (key: string, state: IdentityState, now: number): IdentityState {
    if (!live(state.code, now)) delete state.code
    if (!live(state.sends, now)) delete state.sends
    if (!live(state.last, now)) delete state.last
    if (!live(state.fails, now)) delete state.fails
    if (!live(state.lock, now)) delete state.lock
    if (!state.code && !state.sends && !state.last && !state.fails && !state.lock) this.states.delete(key)
    return state
  }

  private state (identifier: string, device: string | undefined, now: number): { key: string, state: IdentityState } {
    const key = scoped(identifier, device)
    const existing = this.states.get(key)
    return { key, state: existing ? this.prune(key, existing, now) : {} }
  }

  async issueCode (identifier: string, codeHash: string, policy: IssuePolicy, device?: string): Promise<IssueResult> {
    const now = this.now()
    // The ceiling first: past it, every device gets the same answer (and no device skips the captcha).
    const max = policy.maxSendsPerIdentifier
    const ceiling = live(this.ceilings.get(identifier), now)
    if (max !== undefined && ceiling !== undefined && ceiling.count >= max) {
      return { status: 'locked', retryAfterMs: ceiling.until - now, reason: 'max-sends-per-identifier' }
    }
    const { key, state } = this.state(identifier, device, now)
    if (state.lock) return { status: 'locked', retryAfterMs: state.lock.until - now, reason: 'locked' }
    if (state.sends && state.sends.count >= policy.maxSends) {
      return { status: 'locked', retryAfterMs: state.sends.until - now, reason: 'max-sends' }
    }
    if (state.last) return { status: 'too_soon', retryAfterMs: state.last.until - now }

    state.code = { hash: codeHash, attempts: 0, until: now + policy.codeTtlMs }
    if (state.sends) state.sends.count++
    else state.sends = { count: 1, until: now + policy.windowMs }
    if (policy.resendIntervalMs > 0) state.last = { until: now + policy.resendIntervalMs }
    this.states.set(key, state)
    if (max !== undefined) {
      if (ceiling !== undefined) ceiling.count++
      else this.ceilings.set(identifier, { count: 1, until: now + policy.windowMs })
    }
    return { status: 'issued' }
  }

  async revokeCode (identifier: string, codeHash: string, giveSendBack: boolean, device?: string): Promise<void> {
    const { state } = this.state(identifier, device, this.now())
    const current = state.code !== undefined && equalHashes(state.code.hash, codeHash)
    if (current) delete state.code
    if (!giveSendBack) return
    // A newer code keeps its own resend wait; the send of this one, never sent, is given back all the same.
    if (current) delete state.last
    if (state.sends && state.sends.count > 1) state.sends.count--
    else delete state.sends
    const ceiling = this.ceilings.get(identifier)
    if (ceiling && ceiling.count > 1) ceiling.count--
    else this.ceilings.delete(identifier)
  }

  async verifyCode (identifier: string, codeHash: string, policy: VerifyPolicy, device?: string): Promise<VerifyResult> {
    const now = this.now()
    const { key, state } = this.state(identifier, device, now)
    if (state.lock) return { status: 'locked', retryAfterMs: state.lock.until - now, lockedNow: false }
    const code = state.code
    if (!code) return { status: 'invalid' }
    if (code.attempts >= policy.maxAttempts) return { status: 'burned' }

    if (equalHashes(code.hash, codeHash)) {
      if (policy.deferReset === true) delete state.code // the counters wait for the second factor
      else this.states.delete(key)
      return { status: 'ok' }
    }

    code.attempts++
    if (this.addFailure(key, state, policy.lockoutMs, now).count >= policy.maxFailures) {
      this.lock(key, state, policy.lockoutMs, now)
      return { status: 'locked', retryAfterMs: policy.lockoutMs, lockedNow: true }
    }
    return code.attempts >= policy.maxAttempts ? { status: 'burned' } : { status: 'invalid' }
  }

  async consumeBudget (budget: string, limit: number, windowMs: number): Promise<BudgetResult> {
    const now = this.now()
    const counter = live(this.budgets.get(budget), now) ?? { count: 0, until: now + windowMs }
    // A refused send is not counted.
    if (counter.count >= limit) return { status: 'exceeded', retryAfterMs: counter.until - now }
    counter.count++
    this.budgets.set(budget, counter)
    return { status: 'ok' }
  }

  async refundBudget (budget: string): Promise<void> {
    const counter = live(this.budgets.get(budget), this.now())
    if (counter !== undefined && counter.count > 1) counter.count--
    else this.budgets.delete(budget)
  }

  async reserveGuess (identifier: string, policy: FailurePolicy, device?: string): Promise<GuessResult> {
    return this.reserve(identifier, policy, device, this.now())
  }

  async refundGuess (identifier: string, device?: string): Promise<void> {
    this.refund(identifier, device)
  }

  private reserve (identifier: string, policy: FailurePolicy, device: string | undefined, now: number): GuessResult {
    const { key, state } = this.state(identifier, device, now)
    if (state.lock) return { status: 'locked', retryAfterMs: state.lock.until - now }
    // Guesses in flight hold every allowed one: refused unchecked, and not counted, until they settle.
    if ((state.fails?.count ?? 0) >= policy.maxFailures) return { status: 'busy' }
    const fails = this.addFailure(key, state, policy.lockoutMs, now)
    return { status: 'reserved', last: fails.count === policy.maxFailures }
  }

  private refund (identifier: string, device: string | undefined): void {
    const { state } = this.state(identifier, device, this.now())
    if (state.fails && state.fails.count > 1) state.fails.count--
    else delete state.fails
  }

  async lockOut (identifier: string, lockoutMs: number, device?: string): Promise<void> {
    const now = this.now()
    const { key, state } = this.state(identifier, device, now)
    this.lock(key, state, lockoutMs, now)
  }

  async clearFailures (identifier: string, device?: string): Promise<void> {
    const state = this.states.get(scoped(identifier, device))
    if (state) delete state.fails
  }

  async resetCounters (identifier: string, device?: string): Promise<void> {
    this.reset(identifier, device)
  }

  private reset (identifier: string, device: string | undefined): void {
    const key = scoped(identifier, device)
    const state = this.states.get(key)
    if (state === undefined) return
    if (state.code) this.states.set(key, { code: state.code })
    else this.states.delete(key)
  }

  /** One more failure; the window slides: the count lives `lockoutMs` from its last failure. */
  private addFailure (key: string, state: IdentityState, lockoutMs: number, now: number): Counter {
    state.fails = { count: (state.fails?.count ?? 0) + 1, until: now + lockoutMs }
    this.states.set(key, state)
    return state.fails
  }

  /** Locks the identifier (or device) out for `lockoutMs`; its code and failure count go. */
  private lock (key: string, state: IdentityState, lockoutMs: number, now: number): void {
    state.lock = { until: now + lockoutMs }
    delete state.code
    delete state.fails
    this.states.set(key, state)
  }

  async createChallenge (identifier: string, challengeId: string, data: string, ttlMs: number): Promise<void> {
    this.challenges.set(`${identifier}\n${challengeId}`, { data, attempts: 0, until: this.now() + ttlMs })
  }

  async reserveChallenge (identifier: string, challengeId: string, policy: VerifyPolicy, device?: string): Promise<ChallengeResult> {
    const now = this.now()
    const challenge = live(this.challenges.get(`${identifier}\n${challengeId}`), now)
    if (!challenge) return { status: 'invalid' }
    if (challenge.attempts >= policy.maxAttempts) return { status: 'burned' }
    const guess = this.reserve(identifier, policy, device, now)
    if (guess.status !== 'reserved') return guess
    challenge.attempts++
    return { status: 'reserved', data: challenge.data, attempts: challenge.attempts, last: guess.last }
  }

  async refundChallenge (identifier: string, challengeId: string, device?: string): Promise<void> {
    const challenge = live(this.challenges.get(`${identifier}\n${challengeId}`), this.now())
    if (challenge) challenge.attempts--
    this.refund(identifier, device)
  }

  async consumeChallenge (identifier: string, challengeId: string, device?: string): Promise<boolean> {
    const key = `${identifier}\n${challengeId}`
    if (!live(this.challenges.get(key), this.now())) return false
    this.challenges.delete(key)
    this.reset(identifier, device)
    return true
  }

  async savePasskeyChallenge (challengeHash: string, ttlMs: number): Promise<void> {
    this.passkeyChallenges.set(challengeHash, { until: this.now() + ttlMs })
  }

  async takePasskeyChallenge (challengeHash: string): Promise<boolean> {
    const found = live(this.passkeyChallenges.get(challengeHash), this.now()) !== undefined
    this.passkeyChallenges.delete(challengeHash)
    return found
  }
}

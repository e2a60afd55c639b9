import { timingSafeEqual } from 'node:crypto'
import type {
  BudgetResult, FailurePolicy, GuessResult, IssuePolicy, IssueResult, OtpStore, RotateResult, SessionPolicy,
  VerifyPolicy, VerifyResult
} from './types.js'
import { SPENT_KEPT } from './types.js'

interface Expiring { until: number }
interface Counter extends Expiring { count: number }
interface IdentityState {
  code?: { hash: string, attempts: number, until: number }
  sends?: Counter
  last?: Expiring
  fails?: Counter
  lock?: Expiring
}

interface Session extends Expiring {
  current: string
  spent: Set<string>
  claims: string
}

export interface MemoryStoreOptions {
  /** How often expired entries are swept, in milliseconds; default 60 000. */
  sweepInterval?: number
  /** The clock, for tests; default `Date.now`. */
  now?: () => number
}

function equalHashes (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

const live = <T extends Expiring>(entry: T | undefined, now: number): T | undefined =>
  entry !== undefined && entry.until > now ? entry : undefined

/**
 * Keeps OTP state in this process, with the same semantics as `RedisStore`. For development, tests and
 * single-process apps only: state is lost on restart and not shared between processes.
 * Every method runs synchronously to its end, which makes each one atomic in Node's single thread.
 */
export class MemoryStore implements OtpStore {
  private readonly states = new Map<string, IdentityState>()
  private readonly sessions = new Map<string, Session>()
  private readonly revoked = new Map<string, Expiring>()
  private readonly budgets = new Map<string, Counter>()
  private readonly now: () => number
  private readonly timer: NodeJS.Timeout

  constructor ({ sweepInterval = 60_000, now = Date.now }: MemoryStoreOptions = {}) {
    this.now = now
    this.timer = setInterval(() => this.sweep(), sweepInterval)
    this.timer.unref()
  }

  /** Number of identifiers, sessions and revocations with live state; for monitoring and tests. */
  get size (): number {
    return this.states.size + this.sessions.size + this.revoked.size + this.budgets.size
  }

  /** Drops every entry that has expired, so memory stays bounded by the identifiers active in the last window. */
  sweep (): void {
    const now = this.now()
    for (const [identifier, state] of this.states) this.prune(identifier, state, now)
    for (const [familyId, session] of this.sessions) if (!live(session, now)) this.sessions.delete(familyId)
    for (const [familyId, mark] of this.revoked) if (!live(mark, now)) this.revoked.delete(familyId)
    for (const [budget, counter] of this.budgets) if (!live(counter, now)) this.budgets.delete(budget)
  }

  private prune (identifier: string, state: IdentityState, now: number): IdentityState {
    if (!live(state.code, now)) delete state.code
    if (!live(state.sends, now)) delete state.sends
    if (!live(state.last, now)) delete state.last
    if (!live(state.fails, now)) delete state.fails
    if (!live(state.lock, now)) delete state.lock
    if (!state.code && !state.sends && !state.last && !state.fails && !state.lock) this.states.delete(identifier)
    return state
  }

  private state (identifier: string, now: number): IdentityState {
    const existing = this.states.get(identifier)
    if (existing) return this.prune(identifier, existing, now)
    return {}
  }

  async issueCode (identifier: string, codeHash: string, policy: IssuePolicy): Promise<IssueResult> {
    const now = this.now()
    const state = this.state(identifier, now)
    if (state.lock) return { status: 'locked', retryAfterMs: state.lock.until - now, reason: 'locked' }
    if (state.sends && state.sends.count >= policy.maxSends) {
      return { status: 'locked', retryAfterMs: state.sends.until - now, reason: 'max-sends' }
    }
    if (state.last) return { status: 'too_soon', retryAfterMs: state.last.until - now }

    state.code = { hash: codeHash, attempts: 0, until: now + policy.codeTtlMs }
    if (state.sends) state.sends.count++
    else state.sends = { count: 1, until: now + policy.windowMs }
    if (policy.resendIntervalMs > 0) state.last = { until: now + policy.resendIntervalMs }
    this.states.set(identifier, state)
    return { status: 'issued' }
  }

  async revokeCode (identifier: string, codeHash: string, giveSendBack: boolean): Promise<void> {
    const state = this.state(identifier, this.now())
    if (!state.code || !equalHashes(state.code.hash, codeHash)) return
    delete state.code
    if (!giveSendBack) return
    delete state.last
    if (state.sends && state.sends.count > 1) state.sends.count--
    else delete state.sends
  }

  async verifyCode (identifier: string, codeHash: string, policy: VerifyPolicy): Promise<VerifyResult> {
    const now = this.now()
    const state = this.state(identifier, now)
    if (state.lock) return { status: 'locked', retryAfterMs: state.lock.until - now, lockedNow: false }
    const code = state.code
    if (!code) return { status: 'invalid' }
    if (code.attempts >= policy.maxAttempts) return { status: 'burned' }

    if (equalHashes(code.hash, codeHash)) {
      this.states.delete(identifier)
      return { status: 'ok' }
    }

    code.attempts++
    if (this.countFailure(identifier, state, policy, now).status === 'locked') {
      return { status: 'locked', retryAfterMs: policy.lockoutMs, lockedNow: true }
    }
    return code.attempts >= policy.maxAttempts ? { status: 'burned' } : { status: 'invalid' }
  }

  async reserveGuess (identifier: string, policy: FailurePolicy): Promise<GuessResult> {
    const now = this.now()
    const state = this.state(identifier, now)
    if (state.lock) return { status: 'locked', retryAfterMs: state.lock.until - now }
    const fails = this.addFailure(identifier, state, policy.lockoutMs, now)
    if (fails.count > policy.maxFailures) return { status: 'locked', retryAfterMs: fails.until - now }
    return { status: 'reserved', last: fails.count === policy.maxFailures }
  }

  async lockOut (identifier: string, lockoutMs: number): Promise<void> {
    const now = this.now()
    this.lock(identifier, this.state(identifier, now), lockoutMs, now)
  }

  async clearFailures (identifier: string): Promise<void> {
    const state = this.states.get(identifier)
    if (state) delete state.fails
  }

  /** One more failure; the one that reaches `maxFailures` locks the identifier out and drops its code. */
  private countFailure (identifier: string, state: IdentityState, policy: FailurePolicy, now: number): { status: 'counted' | 'locked' } {
    if (this.addFailure(identifier, state, policy.lockoutMs, now).count < policy.maxFailures) return { status: 'counted' }
    this.lock(identifier, state, policy.lockoutMs, now)
    return { status: 'locked' }
  }

  /** One more failure in the identifier's window (a new window starts with the first). */
  private addFailure (identifier: string, state: IdentityState, lockoutMs: number, now: number): Counter {
    if (state.fails) state.fails.count++
    else state.fails = { count: 1, until: now + lockoutMs }
    this.states.set(identifier, state)
    return state.fails
  }

  /** Locks the identifier out for `lockoutMs`; its code and failure count go. */
  private lock (identifier: string, state: IdentityState, lockoutMs: number, now: number): void {
    state.lock = { until: now + lockoutMs }
    delete state.code
    delete state.fails
    this.states.set(identifier, state)
  }

  async consumeBudget (budget: string, limit: number, windowMs: number): Promise<BudgetResult> {
    const now = this.now()
    const counter = live(this.budgets.get(budget), now) ?? { count: 0, until: now + windowMs }
    counter.count++
    this.budgets.set(budget, counter)
    return counter.count <= limit ? { status: 'ok' } : { status: 'exceeded', retryAfterMs: counter.until - now }
  }

  async createSession (familyId: string, tokenHash: string, claims: string, ttlMs: number): Promise<void> {
    this.sessions.set(familyId, { current: tokenHash, spent: new Set(), claims, until: this.now() + ttlMs })
  }

  async rotateSession (familyId: string, tokenHash: string, newHash: string, policy: SessionPolicy): Promise<RotateResult> {
    const now = this.now()
    const session = live(this.sessions.get(familyId), now)
    if (!session) return { status: 'invalid' }
    if (equalHashes(session.current, tokenHash)) {
      session.spent.add(session.current)
      // The newest SPENT_KEPT are remembered (a Set keeps insertion order): memory stays bounded.
      for (const old of session.spent) {
        if (session.spent.size <= SPENT_KEPT) break
        session.spent.delete(old)
      }
      session.current = newHash
      session.until = now + policy.ttlMs
      return { status: 'ok', claims: session.claims }
    }
    if (session.spent.has(tokenHash)) {
      // A spent token came back: someone holds a copy. End the family and refuse its access tokens.
      this.sessions.delete(familyId)
      this.revoked.set(familyId, { until: now + policy.revokedForMs })
      return { status: 'reused' }
    }
    return { status: 'invalid' }
  }

  async endSession (familyId: string, revokedForMs: number): Promise<boolean> {
    const now = this.now()
    if (live(this.revoked.get(familyId), now)) return false
    this.sessions.delete(familyId)
    this.revoked.set(familyId, { until: now + revokedForMs })
    return true
  }

  async isSessionRevoked (familyId: string): Promise<boolean> {
    return live(this.revoked.get(familyId), this.now()) !== undefined
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
  }
}

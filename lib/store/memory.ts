import { timingSafeEqual } from 'node:crypto'
import type { IssuePolicy, IssueResult, OtpStore, VerifyPolicy, VerifyResult } from './types.js'

interface Expiring { until: number }
interface Counter extends Expiring { count: number }
interface IdentityState {
  code?: { hash: Buffer, attempts: number, until: number }
  sends?: Counter
  last?: Expiring
  fails?: Counter
  lock?: Expiring
}

export interface MemoryStoreOptions {
  /** How often expired entries are swept, in milliseconds; default 60 000. */
  sweepInterval?: number
  /** The clock, for tests; default `Date.now`. */
  now?: () => number
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
  private readonly now: () => number
  private readonly timer: NodeJS.Timeout

  constructor ({ sweepInterval = 60_000, now = Date.now }: MemoryStoreOptions = {}) {
    this.now = now
    this.timer = setInterval(() => this.sweep(), sweepInterval)
    this.timer.unref()
  }

  /** Number of identifiers with live state; for monitoring and tests. */
  get size (): number {
    return this.states.size
  }

  /** Drops every entry that has expired, so memory stays bounded by the identifiers active in the last window. */
  sweep (): void {
    const now = this.now()
    for (const [identifier, state] of this.states) this.prune(identifier, state, now)
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
    if (state.lock) return { status: 'locked', retryAfterMs: state.lock.until - now }
    if (state.sends && state.sends.count >= policy.maxSends) return { status: 'locked', retryAfterMs: state.sends.until - now }
    if (state.last) return { status: 'too_soon', retryAfterMs: state.last.until - now }

    state.code = { hash: Buffer.from(codeHash), attempts: 0, until: now + policy.codeTtlMs }
    if (state.sends) state.sends.count++
    else state.sends = { count: 1, until: now + policy.windowMs }
    if (policy.resendIntervalMs > 0) state.last = { until: now + policy.resendIntervalMs }
    this.states.set(identifier, state)
    return { status: 'issued' }
  }

  async revokeCode (identifier: string, codeHash: string): Promise<void> {
    const state = this.state(identifier, this.now())
    if (!state.code || !state.code.hash.equals(Buffer.from(codeHash))) return
    delete state.code
    delete state.last
    if (state.sends && state.sends.count > 1) state.sends.count--
    else delete state.sends
  }

  async verifyCode (identifier: string, codeHash: string, policy: VerifyPolicy): Promise<VerifyResult> {
    const now = this.now()
    const state = this.state(identifier, now)
    if (state.lock) return { status: 'locked', retryAfterMs: state.lock.until - now }
    const code = state.code
    if (!code) return { status: 'invalid' }
    if (code.attempts >= policy.maxAttempts) return { status: 'burned' }

    const guess = Buffer.from(codeHash)
    if (guess.length === code.hash.length && timingSafeEqual(guess, code.hash)) {
      this.states.delete(identifier)
      return { status: 'ok' }
    }

    code.attempts++
    if (state.fails) state.fails.count++
    else state.fails = { count: 1, until: now + policy.lockoutMs }
    if (state.fails.count >= policy.maxFailures) {
      state.lock = { until: now + policy.lockoutMs }
      delete state.code
      delete state.fails
      return { status: 'locked', retryAfterMs: policy.lockoutMs }
    }
    return code.attempts >= policy.maxAttempts ? { status: 'burned' } : { status: 'invalid' }
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
  }
}

import { MemoryCodeStore } from './codes/memory.js'
import { CombinedStore } from './combined.js'
import { MemorySessionStore } from './sessions/memory.js'

export interface MemoryStoreOptions {
  /** How often expired entries are swept, in milliseconds; default 60 000. */
  sweepInterval?: number
  /** The clock, for tests; default `Date.now`. */
  now?: () => number
}

/**
 * Keeps OTP state in this process, with the same semantics as `RedisStore`: codes and counters in a
 * `MemoryCodeStore`, sessions in a `MemorySessionStore`, on one clock and one sweep. For development, tests and
 * single-process apps only: state is lost on restart and not shared between processes.
 */
export class MemoryStore extends CombinedStore<MemoryCodeStore, MemorySessionStore> {
  private readonly timer: NodeJS.Timeout

  constructor ({ sweepInterval = 60_000, now = Date.now }: MemoryStoreOptions = {}) {
    super(new MemoryCodeStore(now), new MemorySessionStore(now))
    this.timer = setInterval(() => this.sweep(), sweepInterval)
    this.timer.unref()
  }

  /** Number of identifiers, challenges, users with sessions and budgets with live state; for monitoring and tests. */
  get size (): number {
    return this.codes.size + this.sessions.size
  }

  /** Drops every entry that has expired, so memory stays bounded by the identifiers active in the last window. */
  sweep (): void {
    this.codes.sweep()
    this.sessions.sweep()
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
  }
}

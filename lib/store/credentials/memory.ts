import type { TotpRecord, TotpStore } from './types.js'

interface Entry {
  secret: string
  enabled: boolean
  /** When a pending setup expires; an enabled record never does. */
  until: number
  lastStep: number
  recovery: Set<string>
}

export interface MemoryTotpStoreOptions {
  /** The clock, for tests; default `Date.now`. */
  now?: () => number
}

/**
 * Keeps authenticator state in this process, with the same semantics as `RedisTotpStore`. For development and
 * tests only: it is lost on restart, and so is every user's authenticator. One entry per identifier that ran a
 * setup, so memory grows with users, not with requests. Each method runs synchronously to its end.
 */
export class MemoryTotpStore implements TotpStore {
  private readonly entries = new Map<string, Entry>()
  private readonly now: () => number

  constructor ({ now = Date.now }: MemoryTotpStoreOptions = {}) {
    this.now = now
  }

  private entry (identifier: string): Entry | undefined {
    const entry = this.entries.get(identifier)
    if (entry && !entry.enabled && entry.until <= this.now()) {
      this.entries.delete(identifier)
      return undefined
    }
    return entry
  }

  async get (identifier: string): Promise<TotpRecord | undefined> {
    const entry = this.entry(identifier)
    return entry && { secret: entry.secret, enabled: entry.enabled }
  }

  async savePending (identifier: string, secret: string, ttlMs: number): Promise<boolean> {
    if (this.entry(identifier)?.enabled) return false
    this.entries.set(identifier, { secret, enabled: false, until: this.now() + ttlMs, lastStep: -1, recovery: new Set() })
    return true
  }

  async enable (identifier: string, secret: string, recoveryHashes: readonly string[], step: number): Promise<boolean> {
    const entry = this.entry(identifier)
    if (!entry || entry.enabled || entry.secret !== secret) return false
    Object.assign(entry, { enabled: true, until: Infinity, lastStep: step, recovery: new Set(recoveryHashes) })
    return true
  }

  async useStep (identifier: string, step: number): Promise<boolean> {
    const entry = this.entry(identifier)
    if (!entry?.enabled || step <= entry.lastStep) return false
    entry.lastStep = step
    return true
  }

  async useRecoveryCode (identifier: string, hash: string): Promise<boolean> {
    const entry = this.entry(identifier)
    return entry?.enabled === true && entry.recovery.delete(hash)
  }

  async disable (identifier: string): Promise<void> {
    this.entries.delete(identifier)
  }
}

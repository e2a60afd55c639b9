import type { CredentialStore, PasskeyIdentity, PasskeyRecord, TotpRecord, TotpState } from './types.js'

interface Totp {
  secret: string
  enabled: boolean
  /** When a pending setup expires; an enabled one never does. */
  until: number
  lastStep: number
  recovery: Set<string>
}

export interface MemoryCredentialStoreOptions {
  /** The clock, for tests; default `Date.now`. */
  now?: () => number
}

const copy = (passkey: PasskeyRecord): PasskeyRecord => ({ ...passkey, transports: [...passkey.transports], identity: { ...passkey.identity } })

/**
 * Keeps credentials in this process, with the same semantics as the Redis and SQL stores. For development and
 * tests only: it is lost on restart, and so is every user's authenticator and passkey. Each method runs
 * synchronously to its end, so each is atomic.
 */
export class MemoryCredentialStore implements CredentialStore {
  private readonly totps = new Map<string, Totp>()
  /** Passkeys by credential id, with their owner. */
  private readonly passkeys = new Map<string, { owner: string, passkey: PasskeyRecord }>()
  private readonly now: () => number

  constructor ({ now = Date.now }: MemoryCredentialStoreOptions = {}) {
    this.now = now
  }

  private totp (owner: string): Totp | undefined {
    const entry = this.totps.get(owner)
    if (entry && !entry.enabled && entry.until <= this.now()) {
      this.totps.delete(owner)
      return undefined
    }
    return entry
  }

  async get (owner: string): Promise<TotpRecord | undefined> {
    const entry = this.totp(owner)
    return entry && { secret: entry.secret, enabled: entry.enabled, recoveryCodesLeft: entry.recovery.size }
  }

  async savePending (owner: string, secret: string, ttlMs: number): Promise<boolean> {
    if (this.totp(owner)?.enabled) return false
    this.totps.set(owner, { secret, enabled: false, until: this.now() + ttlMs, lastStep: -1, recovery: new Set() })
    return true
  }

  async enable (owner: string, secret: string, recoveryHashes: readonly string[], step: number): Promise<boolean> {
    const entry = this.totp(owner)
    if (!entry || entry.enabled || entry.secret !== secret) return false
    Object.assign(entry, { enabled: true, until: Infinity, lastStep: step, recovery: new Set(recoveryHashes) })
    return true
  }

  async useStep (owner: string, step: number): Promise<boolean> {
    const entry = this.totp(owner)
    if (!entry?.enabled || step <= entry.lastStep) return false
    entry.lastStep = step
    return true
  }

  async useRecoveryCode (owner: string, hash: string): Promise<boolean> {
    const entry = this.totp(owner)
    return entry?.enabled === true && entry.recovery.delete(hash)
  }

  async restoreRecoveryCode (owner: string, hash: string): Promise<boolean> {
    const entry = this.totp(owner)
    if (entry?.enabled !== true || entry.recovery.has(hash)) return false
    entry.recovery.add(hash)
    return true
  }

  async replaceRecoveryCodes (owner: string, hashes: readonly string[]): Promise<string[] | undefined> {
    const entry = this.totp(owner)
    if (entry?.enabled !== true) return undefined
    const old = [...entry.recovery]
    entry.recovery = new Set(hashes)
    return old
  }

  async replaceSecret (owner: string, from: string, to: string): Promise<boolean> {
    const entry = this.totp(owner)
    if (entry?.secret !== from) return false
    entry.secret = to
    return true
  }

  async disable (owner: string): Promise<TotpState | undefined> {
    const entry = this.totp(owner)
    this.totps.delete(owner)
    if (entry === undefined) return undefined
    return {
      secret: entry.secret,
      enabled: entry.enabled,
      lastStep: entry.lastStep,
      recoveryHashes: [...entry.recovery],
      ...(entry.enabled ? {} : { expiresAt: entry.until })
    }
  }

  async restoreTotp (owner: string, state: TotpState): Promise<boolean> {
    if (this.totp(owner) !== undefined) return false
    const until = state.enabled ? Infinity : state.expiresAt ?? 0
    if (until <= this.now()) return false
    this.totps.set(owner, { secret: state.secret, enabled: state.enabled, until, lastStep: state.lastStep, recovery: new Set(state.recoveryHashes) })
    return true
  }

  async addPasskey (owner: string, passkey: PasskeyRecord): Promise<boolean> {
    if (this.passkeys.has(passkey.id)) return false
    this.passkeys.set(passkey.id, { owner, passkey: copy(passkey) })
    return true
  }

  async listPasskeys (owner: string): Promise<PasskeyRecord[]> {
    const mine = [...this.passkeys.values()].filter((entry) => entry.owner === owner).map((entry) => copy(entry.passkey))
    return mine.sort((a, b) => a.createdAt - b.createdAt)
  }

  async findPasskey (id: string): Promise<{ owner: string, passkey: PasskeyRecord } | undefined> {
    const entry = this.passkeys.get(id)
    return entry && { owner: entry.owner, passkey: copy(entry.passkey) }
  }

  async usePasskey (id: string, counter: number, usedAt: number): Promise<'used' | 'counter-went-back' | 'unknown'> {
    const passkey = this.passkeys.get(id)?.passkey
    if (passkey === undefined) return 'unknown'
    if (counter <= passkey.counter && (counter !== 0 || passkey.counter !== 0)) return 'counter-went-back'
    passkey.counter = counter
    passkey.lastUsedAt = usedAt
    return 'used'
  }

  async renamePasskey (owner: string, id: string, name: string): Promise<boolean> {
    const entry = this.passkeys.get(id)
    if (entry?.owner !== owner) return false
    entry.passkey.name = name
    return true
  }

  async removePasskey (owner: string, id: string): Promise<PasskeyRecord | undefined> {
    const entry = this.passkeys.get(id)
    if (entry?.owner !== owner) return undefined
    this.passkeys.delete(id)
    return entry.passkey
  }

  async rebindPasskeys (owner: string, identity: PasskeyIdentity): Promise<number> {
    let n = 0
    for (const entry of this.passkeys.values()) {
      if (entry.owner === owner) {
        entry.passkey.identity = { ...identity }
        n++
      }
    }
    return n
  }
}

/** @deprecated The 0.1 name of `MemoryCredentialStore`; goes in 0.3. */
export const MemoryTotpStore = MemoryCredentialStore
/** @deprecated The 0.1 name of `MemoryCredentialStoreOptions`; goes in 0.3. */
export type MemoryTotpStoreOptions = MemoryCredentialStoreOptions

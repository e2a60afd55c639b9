import {
  InvalidCodeError, StoreUnsupportedError, TotpAlreadyEnabledError, TotpNotEnabledError, TotpNotPendingError, plainError
} from '../errors.js'
import { reachStore } from '../store/reach.js'
import type { CredentialStore } from '../store/credentials/types.js'
import { base32, matchStep, newSecret, otpauthUrl, qrCode } from './authenticator.js'
import { KeyRing, deriveKey } from './keys.js'
import { hashRecoveryCode, newRecoveryCodes } from './recovery.js'

/** How long a setup waits for its confirmation. */
export const setupTtlMs = 15 * 60_000

/** The owner of a user's credentials (their authenticator in second-factor mode, their passkeys); no identifier can look like it (no `:` in either). */
export const userOwner = (userId: string): string => `user:${userId}`

/** Where the service reports what it could not do without failing the request: the app's logger. */
export interface ServiceLog {
  warn: (details: object, message: string) => void
}

export interface TotpServiceOptions {
  store: CredentialStore
  /** The methods the store lacks (a 0.1 `TotpStore`): what needs them answers 501 or is skipped. */
  lacks?: ReadonlySet<string>
  /** The 32-byte keys of `totpEncryptionKey`, newest first. */
  keys: readonly Buffer[]
  issuer: string
  /** Milliseconds since the epoch. */
  clock: () => number
  log?: ServiceLog
}

export interface TotpSetup {
  /** Base32, for typing into an app that cannot scan. */
  secret: string
  otpauthUrl: string
  /** An SVG data URL. */
  qrCode: string
}

/** An owner's authenticator as the host sees it (`app.otpCredentials.get`). */
export interface TotpStatus {
  /** False while a setup waits for its confirmation. */
  enabled: boolean
  /** Unused recovery codes; null when the store does not say (a 0.1 `totpStore`). */
  recoveryCodesLeft: number | null
}

/**
 * What a code proved: `right` (and now spent), `replay` (a right code whose time step was already used: refused,
 * but not a wrong guess), or `wrong`.
 */
export type Proof = 'right' | 'replay' | 'wrong'

/**
 * Authenticator apps for one owner at a time (a user id in second-factor mode, an identifier in alternative
 * mode): setup, confirmation, checking a code or a recovery code, new recovery codes, turning it off. Knows
 * nothing of HTTP or of failure counting; every store call fails closed (503).
 */
export class TotpService {
  private readonly store: CredentialStore
  private readonly lacks: ReadonlySet<string>
  private readonly ring: KeyRing
  /** One recovery-code key per encryption key, newest first: codes issued before a rotation keep working. */
  private readonly recoveryKeys: Buffer[]
  private readonly issuer: string
  private readonly clock: () => number
  private readonly log: ServiceLog | undefined

  constructor ({ store, lacks = new Set(), keys, issuer, clock, log }: TotpServiceOptions) {
    this.store = store
    this.lacks = lacks
    this.ring = new KeyRing(keys)
    this.recoveryKeys = keys.map((key) => deriveKey(key, 'recovery-code'))
    this.issuer = issuer
    this.clock = clock
    this.log = log
  }

  /**
   * A new pending secret for `owner`, replacing any earlier unconfirmed one; refused while TOTP is on.
   * `account` is the name the app shows beside the issuer.
   */
  async setup (owner: string, account: string): Promise<TotpSetup> {
    const secret = newSecret()
    const saved = await reachStore(() => this.store.savePending(owner, this.ring.seal(owner, secret), setupTtlMs))
    if (!saved) throw new TotpAlreadyEnabledError()
    const url = otpauthUrl(secret, this.issuer, account)
    return { secret: base32(secret), otpauthUrl: url, qrCode: await qrCode(url) }
  }

  /** Turns TOTP on if `otp` is a current code of the pending secret; the recovery codes, shown this once. */
  async confirm (owner: string, otp: string): Promise<string[]> {
    const record = await reachStore(() => this.store.get(owner))
    if (record === undefined) throw new TotpNotPendingError()
    if (record.enabled) throw new TotpAlreadyEnabledError()
    const opened = this.ring.open(owner, record.secret)
    const step = matchStep(opened.secret, otp, this.clock())
    if (step === undefined) throw new InvalidCodeError()

    const codes = newRecoveryCodes()
    const hashes = this.hashes(owner, codes)
    // The step is recorded as used: the code that confirmed cannot also log in.
    const enabled = await reachStore(() => this.store.enable(owner, record.secret, hashes, step))
    // Expired, or replaced by a newer setup, since it was read.
    if (!enabled) throw new TotpNotPendingError()
    if (!opened.newest) await this.reseal(owner, record.secret, opened.secret)
    return codes
  }

  async isEnabled (owner: string): Promise<boolean> {
    return (await reachStore(() => this.store.get(owner)))?.enabled === true
  }

  /** The owner's authenticator, pending or on, or null when there is none. */
  async status (owner: string): Promise<TotpStatus | null> {
    const record = await reachStore(() => this.store.get(owner))
    return record === undefined ? null : { enabled: record.enabled, recoveryCodesLeft: record.recoveryCodesLeft ?? null }
  }

  /**
   * A current code of an enabled authenticator is `right` once: its time step is spent. The same step again is
   * a `replay`; off, too far from now or not a code of the secret: `wrong`.
   */
  async useCode (owner: string, otp: string): Promise<Proof> {
    const record = await reachStore(() => this.store.get(owner))
    if (!record?.enabled) return 'wrong'
    const opened = this.ring.open(owner, record.secret)
    const step = matchStep(opened.secret, otp, this.clock())
    if (step === undefined) return 'wrong'
    if (!await reachStore(() => this.store.useStep(owner, step))) return 'replay'
    if (!opened.newest) await this.reseal(owner, record.secret, opened.secret)
    return 'right'
  }

  /** Each recovery code of an enabled authenticator is `right` once (under whichever key it was issued). */
  async useRecoveryCode (owner: string, code: string): Promise<Proof> {
    for (const key of this.recoveryKeys) {
      const hash = hashRecoveryCode(key, owner, code)
      if (hash === undefined) return 'wrong'
      if (await reachStore(() => this.store.useRecoveryCode(owner, hash))) return 'right'
    }
    return 'wrong'
  }

  /** New recovery codes for an enabled authenticator, shown this once; the old ones stop working. */
  async regenerateRecoveryCodes (owner: string): Promise<string[]> {
    this.needs('replaceRecoveryCodes')
    const codes = newRecoveryCodes()
    const replaced = await reachStore(() => this.store.replaceRecoveryCodes(owner, this.hashes(owner, codes)))
    if (replaced === undefined) throw new TotpNotEnabledError()
    return codes
  }

  /** Removes the owner's authenticator, pending or on: whether there was one (a 0.1 store: whether one was on). */
  async disable (owner: string): Promise<boolean> {
    if (this.lacks.has('restoreTotp')) {
      // A 0.1 store's disable answers nothing: ask first.
      const had = await reachStore(() => this.store.get(owner))
      await reachStore(() => this.store.disable(owner))
      return had !== undefined
    }
    return await reachStore(() => this.store.disable(owner)) !== undefined
  }

  private hashes (owner: string, codes: readonly string[]): string[] {
    const key = this.recoveryKeys[0] as Buffer
    return codes.map((code) => hashRecoveryCode(key, owner, code) ?? '')
  }

  private needs (method: keyof CredentialStore): void {
    if (this.lacks.has(method)) throw new StoreUnsupportedError()
  }

  /**
   * Seals a secret that an older key sealed under the newest one (key rotation). The sign-in it happens in
   * succeeds whatever happens here: a failure is logged, and the next use tries again.
   */
  private async reseal (owner: string, from: string, secret: Buffer): Promise<void> {
    if (this.lacks.has('replaceSecret')) return
    try {
      await this.store.replaceSecret(owner, from, this.ring.seal(owner, secret))
    } catch (err) {
      this.log?.warn({ err: plainError(err) }, 'fastify-otp-login: a TOTP secret under an older totpEncryptionKey could not be sealed under the newest (tried again on its next use)')
    }
  }
}

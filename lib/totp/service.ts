import { InvalidCodeError, TotpAlreadyEnabledError, TotpNotPendingError } from '../errors.js'
import { reachStore } from '../store/reach.js'
import type { TotpStore } from '../store/totp-types.js'
import { base32, matchStep, newSecret, otpauthUrl, qrCode } from './authenticator.js'
import { SecretBox, deriveKey } from './keys.js'
import { hashRecoveryCode, newRecoveryCodes } from './recovery.js'

/** How long a setup waits for its confirmation. */
export const setupTtlMs = 15 * 60_000

export interface TotpServiceOptions {
  store: TotpStore
  /** The 32-byte `totpEncryptionKey`. */
  key: Buffer
  issuer: string
  /** Milliseconds since the epoch. */
  clock: () => number
}

export interface TotpSetup {
  /** Base32, for typing into an app that cannot scan. */
  secret: string
  otpauthUrl: string
  /** An SVG data URL. */
  qrCode: string
}

/**
 * Authenticator apps for one identifier at a time: setup, confirmation, checking a code or a recovery code,
 * turning it off. Knows nothing of HTTP or of failure counting; every store call fails closed (503).
 */
export class TotpService {
  private readonly store: TotpStore
  private readonly box: SecretBox
  private readonly recoveryKey: Buffer
  private readonly issuer: string
  private readonly clock: () => number

  constructor ({ store, key, issuer, clock }: TotpServiceOptions) {
    this.store = store
    this.box = new SecretBox(deriveKey(key, 'totp-secret'))
    this.recoveryKey = deriveKey(key, 'recovery-code')
    this.issuer = issuer
    this.clock = clock
  }

  /** A new pending secret, replacing any earlier unconfirmed one; refused while TOTP is on. */
  async setup (identifier: string): Promise<TotpSetup> {
    const secret = newSecret()
    const saved = await reachStore(() => this.store.savePending(identifier, this.box.seal(identifier, secret), setupTtlMs))
    if (!saved) throw new TotpAlreadyEnabledError()
    const url = otpauthUrl(secret, this.issuer, identifier)
    return { secret: base32(secret), otpauthUrl: url, qrCode: await qrCode(url) }
  }

  /** Turns TOTP on if `otp` is a current code of the pending secret; the recovery codes, shown this once. */
  async confirm (identifier: string, otp: string): Promise<string[]> {
    const record = await reachStore(() => this.store.get(identifier))
    if (record === undefined) throw new TotpNotPendingError()
    if (record.enabled) throw new TotpAlreadyEnabledError()
    const step = matchStep(this.box.open(identifier, record.secret), otp, this.clock())
    if (step === undefined) throw new InvalidCodeError()

    const codes = newRecoveryCodes()
    const hashes = codes.map((code) => hashRecoveryCode(this.recoveryKey, identifier, code) ?? '')
    // The step is recorded as used: the code that confirmed cannot also log in.
    const enabled = await reachStore(() => this.store.enable(identifier, record.secret, hashes, step))
    // Expired, or replaced by a newer setup, since it was read.
    if (!enabled) throw new TotpNotPendingError()
    return codes
  }

  /** True once for a current code of an enabled authenticator; false when off, wrong or a step already used. */
  async useCode (identifier: string, otp: string): Promise<boolean> {
    const record = await reachStore(() => this.store.get(identifier))
    if (!record?.enabled) return false
    const step = matchStep(this.box.open(identifier, record.secret), otp, this.clock())
    return step !== undefined && await reachStore(() => this.store.useStep(identifier, step))
  }

  /** True once for each recovery code of an enabled authenticator. */
  async useRecoveryCode (identifier: string, code: string): Promise<boolean> {
    const hash = hashRecoveryCode(this.recoveryKey, identifier, code)
    return hash !== undefined && await reachStore(() => this.store.useRecoveryCode(identifier, hash))
  }

  async disable (identifier: string): Promise<void> {
    await reachStore(() => this.store.disable(identifier))
  }
}

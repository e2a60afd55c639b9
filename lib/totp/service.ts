import { InvalidCodeError, TotpAlreadyEnabledError, TotpNotPendingError } from '../errors.js'
import { reachStore } from '../store/reach.js'
import type { TotpStore } from '../store/credentials/types.js'
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
 * What a code proved: `right` (and now spent), `replay` (a right code whose time step was already used: refused,
 * but not a wrong guess), or `wrong`.
 */
export type Proof = 'right' | 'replay' | 'wrong'

/**
 * Authenticator apps for one owner at a time (a user id in second-factor mode, an identifier in alternative
 * mode): setup, confirmation, checking a code or a recovery code,
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

  /**
   * A new pending secret for `owner`, replacing any earlier unconfirmed one; refused while TOTP is on.
   * `account` is the name the app shows beside the issuer.
   */
  async setup (owner: string, account: string): Promise<TotpSetup> {
    const secret = newSecret()
    const saved = await reachStore(() => this.store.savePending(owner, this.box.seal(owner, secret), setupTtlMs))
    if (!saved) throw new TotpAlreadyEnabledError()
    const url = otpauthUrl(secret, this.issuer, account)
    return { secret: base32(secret), otpauthUrl: url, qrCode: await qrCode(url) }
  }

  /** Turns TOTP on if `otp` is a current code of the pending secret; the recovery codes, shown this once. */
  async confirm (owner: string, otp: string): Promise<string[]> {
    const record = await reachStore(() => this.store.get(owner))
    if (record === undefined) throw new TotpNotPendingError()
    if (record.enabled) throw new TotpAlreadyEnabledError()
    const step = matchStep(this.box.open(owner, record.secret), otp, this.clock())
    if (step === undefined) throw new InvalidCodeError()

    const codes = newRecoveryCodes()
    const hashes = codes.map((code) => hashRecoveryCode(this.recoveryKey, owner, code) ?? '')
    // The step is recorded as used: the code that confirmed cannot also log in.
    const enabled = await reachStore(() => this.store.enable(owner, record.secret, hashes, step))
    // Expired, or replaced by a newer setup, since it was read.
    if (!enabled) throw new TotpNotPendingError()
    return codes
  }

  async isEnabled (owner: string): Promise<boolean> {
    return (await reachStore(() => this.store.get(owner)))?.enabled === true
  }

  /**
   * A current code of an enabled authenticator is `right` once: its time step is spent. The same step again is
   * a `replay`; off, too far from now or not a code of the secret: `wrong`.
   */
  async useCode (owner: string, otp: string): Promise<Proof> {
    const record = await reachStore(() => this.store.get(owner))
    if (!record?.enabled) return 'wrong'
    const step = matchStep(this.box.open(owner, record.secret), otp, this.clock())
    if (step === undefined) return 'wrong'
    return await reachStore(() => this.store.useStep(owner, step)) ? 'right' : 'replay'
  }

  /** Each recovery code of an enabled authenticator is `right` once. */
  async useRecoveryCode (owner: string, code: string): Promise<Proof> {
    const hash = hashRecoveryCode(this.recoveryKey, owner, code)
    return hash !== undefined && await reachStore(() => this.store.useRecoveryCode(owner, hash)) ? 'right' : 'wrong'
  }

  async disable (owner: string): Promise<void> {
    await reachStore(() => this.store.disable(owner))
  }
}

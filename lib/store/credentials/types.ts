/**
 * Where what must outlive every restart lives: each user's authenticator (TOTP) and passkeys. An owner is a
 * user (`user:<id>`) or, for an authenticator in alternative mode, an identifier. The TOTP secret is encrypted by
 * the plugin (to the store an opaque string); recovery codes arrive as keyed hashes. A setup is pending until
 * confirmed and may expire; everything else never expires, so the store must be durable (a SQL database, or a
 * Redis with persistence). Each method is one atomic step. Durations and times are milliseconds.
 */
export interface CredentialStore {
  /** The owner's authenticator, or undefined when there is none (or only an expired pending one). */
  get (owner: string): Promise<TotpRecord | undefined>
  /** Starts (or restarts) a pending setup that expires after `ttlMs`; refused (false) when TOTP is already on. */
  savePending (owner: string, secret: string, ttlMs: number): Promise<boolean>
  /**
   * Turns TOTP on with these recovery-code hashes, recording `step` as used, if the pending setup still holds
   * `secret`; false otherwise (expired, replaced by a newer setup, or already on).
   */
  enable (owner: string, secret: string, recoveryHashes: readonly string[], step: number): Promise<boolean>
  /** Records `step` as used if TOTP is on and `step` is later than the last used one; false otherwise (a replay). */
  useStep (owner: string, step: number): Promise<boolean>
  /** Removes one recovery-code hash if TOTP is on and the hash is there; false otherwise (unknown or used). */
  useRecoveryCode (owner: string, hash: string): Promise<boolean>
  /** Gives back one recovery-code hash that `useRecoveryCode` took, if TOTP is still on; false otherwise. */
  restoreRecoveryCode (owner: string, hash: string): Promise<boolean>
  /**
   * Replaces every recovery-code hash if TOTP is on: the old codes stop working. The hashes it replaced, or
   * undefined when TOTP is not on (nothing changed).
   */
  replaceRecoveryCodes (owner: string, hashes: readonly string[]): Promise<string[] | undefined>
  /**
   * Replaces the encrypted secret if it is still `from` (key rotation: the same secret, sealed under a newer key);
   * false when it changed since it was read.
   */
  replaceSecret (owner: string, from: string, to: string): Promise<boolean>
  /** Removes the authenticator, pending or enabled, with its recovery codes: what it removed, if anything. */
  disable (owner: string): Promise<TotpState | undefined>
  /** Puts back what `disable` removed, only if the owner has no authenticator now; false otherwise. */
  restoreTotp (owner: string, state: TotpState): Promise<boolean>

  /** Adds a passkey; false (nothing changed) when a passkey with this id exists, for any owner. */
  addPasskey (owner: string, passkey: PasskeyRecord): Promise<boolean>
  /** The owner's passkeys, oldest first. */
  listPasskeys (owner: string): Promise<PasskeyRecord[]>
  /** The passkey with this credential id and its owner, whoever it is: how a discoverable sign-in finds its user. */
  findPasskey (id: string): Promise<{ owner: string, passkey: PasskeyRecord } | undefined>
  /**
   * Records a sign-in with the passkey: its new signature counter and the time. `counter-went-back` (nothing
   * changed) when the counter is not above the stored one, unless both are 0 (authenticators without a counter).
   */
  usePasskey (id: string, counter: number, usedAt: number): Promise<'used' | 'counter-went-back' | 'unknown'>
  /** Renames one of the owner's passkeys; false when the owner has no passkey with this id. */
  renamePasskey (owner: string, id: string, name: string): Promise<boolean>
  /** Removes one of the owner's passkeys: what it removed, or undefined when the owner has none with this id. */
  removePasskey (owner: string, id: string): Promise<PasskeyRecord | undefined>
  /** Makes every passkey of the owner sign in as `identity` (after a change of identifier): how many. */
  rebindPasskeys (owner: string, identity: PasskeyIdentity): Promise<number>

  /**
   * Called once when the plugin registers, before any other method; a throw fails `app.ready()` (a Redis that
   * would drop credentials). Optional.
   */
  init?: (log: CredentialStoreLog) => Promise<void>
}

/** Where a store reports at `init`: pino's `warn` (the plugin passes `fastify.log`). */
export interface CredentialStoreLog {
  warn: (message: string) => void
}

/** The TOTP part of a credential store: what a host's `totpStore` implemented before 0.2 (deprecated name). */
export type TotpStore = Pick<CredentialStore, typeof totpStoreMethods[number]>

/** The methods of a 0.1 `TotpStore`: what the deprecated `totpStore` option is checked for. */
export const totpStoreMethods = ['get', 'savePending', 'enable', 'useStep', 'useRecoveryCode', 'disable'] as const

/** The methods passkeys need: a 0.1 `TotpStore` has none of them. */
export const passkeyStoreMethods = ['addPasskey', 'listPasskeys', 'findPasskey', 'usePasskey', 'renamePasskey', 'removePasskey', 'rebindPasskeys'] as const

/** Every method of `CredentialStore`: what `credentialStore` is checked for, and what the store deadline bounds. */
export const credentialStoreMethods = [
  ...totpStoreMethods, 'restoreRecoveryCode', 'replaceRecoveryCodes', 'replaceSecret', 'restoreTotp', ...passkeyStoreMethods
] as const

export interface TotpRecord {
  /** The encrypted secret. */
  secret: string
  /** False while the setup waits for its confirmation. */
  enabled: boolean
  /** Unused recovery codes (0 while pending). Optional for a 0.1 `TotpStore`. */
  recoveryCodesLeft?: number
}

/** Everything of one authenticator, as `disable` removed it and `restoreTotp` puts it back. */
export interface TotpState {
  secret: string
  enabled: boolean
  /** The last time step used, -1 for none. */
  lastStep: number
  recoveryHashes: string[]
  /** When a pending setup expires (milliseconds since the epoch); undefined once enabled. */
  expiresAt?: number
}

/** Who a passkey signs in as: the identifier it was added under (or moved to by `rebindPasskeys`). */
export interface PasskeyIdentity {
  kind: 'phone' | 'email'
  value: string
}

/** One WebAuthn credential, as `@simplewebauthn/server` verified it at registration. */
export interface PasskeyRecord {
  /** The credential id, base64url. */
  id: string
  /** The COSE public key, base64url. */
  publicKey: string
  /** The signature counter last seen (0 for authenticators without one). */
  counter: number
  /** The transports the browser reported (`internal`, `hybrid`, `usb`, ...), for the next ceremony's hints. */
  transports: string[]
  /** The name the user gave it (or a default such as "Passkey"). */
  name: string
  /** Milliseconds since the epoch. */
  createdAt: number
  lastUsedAt: number | null
  /** Whether the credential is synced (multi-device) and currently backed up. */
  backedUp: boolean
  identity: PasskeyIdentity
}

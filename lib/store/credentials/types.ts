/**
 * Where authenticator (TOTP) state lives: per identifier, one record with the secret (encrypted by the plugin;
 * to the store an opaque string), whether it is on, the last time step used to log in, and the hashes of the
 * unused recovery codes. A setup is pending until confirmed and may expire; an enabled record must never
 * expire, so a host can keep it in its own database. Each method is one atomic step. Durations are milliseconds.
 * The first credential this folder holds; passkeys are to join it (a `CredentialStore`).
 */
export interface TotpStore {
  /** The identifier's record, or undefined when there is none (or only an expired pending one). */
  get (identifier: string): Promise<TotpRecord | undefined>
  /** Starts (or restarts) a pending setup that expires after `ttlMs`; refused (false) when TOTP is already on. */
  savePending (identifier: string, secret: string, ttlMs: number): Promise<boolean>
  /**
   * Turns TOTP on with these recovery-code hashes, recording `step` as used, if the pending setup still holds
   * `secret`; false otherwise (expired, replaced by a newer setup, or already on).
   */
  enable (identifier: string, secret: string, recoveryHashes: readonly string[], step: number): Promise<boolean>
  /** Records `step` as used if TOTP is on and `step` is later than the last used one; false otherwise (a replay). */
  useStep (identifier: string, step: number): Promise<boolean>
  /** Removes one recovery-code hash if TOTP is on and the hash is there; false otherwise (unknown or used). */
  useRecoveryCode (identifier: string, hash: string): Promise<boolean>
  /** Removes the record, pending or enabled, with its recovery codes. */
  disable (identifier: string): Promise<void>
}

/** Every method of `TotpStore`: what a host's `totpStore` is checked for, and what the store deadline bounds. */
export const totpStoreMethods = ['get', 'savePending', 'enable', 'useStep', 'useRecoveryCode', 'disable'] as const

export interface TotpRecord {
  /** The encrypted secret. */
  secret: string
  /** False while the setup waits for its confirmation. */
  enabled: boolean
}

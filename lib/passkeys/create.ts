import type { FastifyBaseLogger } from 'fastify'
import type { PasskeysOptions } from '../options-schema.js'
import { MemoryCredentialStore } from '../store/credentials/memory.js'
import { credentialStoreMethods, type CredentialStore, type TotpStore } from '../store/credentials/types.js'
import { credentialStoreWithDeadline } from '../store/deadline.js'
import type { OtpStore } from '../store/types.js'
import { PasskeyService } from './service.js'

/** What createPasskeys reads of the resolved options. */
export interface PasskeySettings {
  passkeys: PasskeysOptions | false
  /** The host's `totpStore`, which may be a whole credential store. */
  totp: { store: TotpStore | undefined } | undefined
  codeSecret: string
  storeTimeout: number
}

/** Whether a store the host gave implements the passkey methods too (a whole `CredentialStore`). */
function isCredentialStore (store: TotpStore | undefined): store is CredentialStore {
  const methods = store as Record<string, unknown> | undefined
  return methods !== undefined && credentialStoreMethods.every((name) => typeof methods[name] === 'function')
}

/**
 * Passkeys when the `passkeys` option is set: in the host's credential store (its `totpStore`, if it has the
 * passkey methods), else in this process. The one place that picks the store passkeys live in.
 */
export function createPasskeys (settings: PasskeySettings, challenges: OtpStore, log: FastifyBaseLogger): PasskeyService | undefined {
  if (settings.passkeys === false) return undefined
  let credentials: CredentialStore
  const given = settings.totp?.store
  if (isCredentialStore(given)) {
    credentials = given
  } else {
    if (process.env.NODE_ENV === 'production') {
      log.warn('fastify-otp-login: passkeys live in this process (MemoryCredentialStore): every user loses theirs on restart; give a "totpStore" that implements CredentialStore')
    }
    credentials = new MemoryCredentialStore()
  }
  return new PasskeyService({
    options: settings.passkeys,
    credentials: credentialStoreWithDeadline(credentials, settings.storeTimeout),
    challenges,
    codeSecret: settings.codeSecret
  })
}

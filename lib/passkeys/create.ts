import type { PasskeysOptions } from '../options-schema.js'
import { passkeyStoreMethods } from '../store/credentials/types.js'
import type { OtpStore } from '../store/types.js'
import type { Credentials } from '../totp/create.js'
import { PasskeyService } from './service.js'

/**
 * Passkeys when the `passkeys` option is set, in the plugin's one credential store (`credentialStore`, else a
 * `RedisCredentialStore` on `redis`, else one in this process), beside the authenticators.
 */
export function createPasskeys (options: PasskeysOptions | false, credentials: Credentials | undefined, challenges: OtpStore, codeSecret: string): PasskeyService | undefined {
  if (options === false) return undefined
  const missing = passkeyStoreMethods.filter((name) => credentials === undefined || credentials.lacks.has(name))
  if (credentials === undefined || missing.length > 0) {
    throw new Error(`fastify-otp-login: "passkeys" needs a credential store with ${missing.join(', ')}: give a "credentialStore" (the deprecated "totpStore" of 0.1 has no passkeys)`)
  }
  return new PasskeyService({ options, credentials: credentials.store, challenges, codeSecret })
}

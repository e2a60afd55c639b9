import type { EmitHost } from './events.js'
import { reachStore } from './store/reach.js'
import type { Credentials } from './totp/create.js'
import { userOwner } from './totp/service.js'
import type { OtpCredentials, PasskeyView } from './types.js'

/**
 * `app.otpCredentials`: the host's support tools (a thief enrolled an authenticator with a stolen token, an
 * owner lost theirs). In second-factor mode a user's authenticator is theirs (`user:<id>`); in alternative mode
 * it is bound to an identifier, so `get` and `removeTotp` take that identifier (E.164 or lower-cased e-mail)
 * in place of the user id. Passkeys are always the user's. Each removal emits the event its route does, with
 * `by: 'host'`; a store failure rejects with `OTP_STORE_UNAVAILABLE`.
 */
export function hostCredentials (credentials: Credentials | undefined, alternative: boolean, emitHost: EmitHost): OtpCredentials {
  const totpOwner = (userId: string): string => alternative ? userId : userOwner(userId)
  const has = (method: string): boolean => credentials !== undefined && !credentials.lacks.has(method)
  return {
    get: async (userId) => {
      const totp = await credentials?.totp?.status(totpOwner(userId)) ?? null
      if (credentials === undefined || !has('listPasskeys')) return { totp, passkeys: [] }
      const stored = await reachStore(() => credentials.store.listPasskeys(userOwner(userId)))
      const passkeys: PasskeyView[] = stored.map(({ id, name, createdAt, lastUsedAt, backedUp }) => ({ id, name, createdAt, lastUsedAt, backedUp }))
      return { totp, passkeys }
    },
    removeTotp: async (userId) => {
      const totp = credentials?.totp
      if (totp === undefined) return false
      const removed = await totp.disable(totpOwner(userId))
      if (removed) emitHost({ type: 'totp-disabled', ...(alternative ? { identifier: userId } : { userId }) })
      return removed
    },
    removePasskey: async (userId, id) => {
      if (credentials === undefined || !has('removePasskey')) return false
      const removed = await reachStore(() => credentials.store.removePasskey(userOwner(userId), id))
      if (removed === undefined) return false
      emitHost({ type: 'passkey-removed', userId, passkeyId: id })
      return true
    }
  }
}

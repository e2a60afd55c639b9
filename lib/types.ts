import type { FastifyReply, FastifyRequest } from 'fastify'
import type { SessionView } from './tokens.js'
import type { TotpStatus } from './totp/service.js'

/** The claims of an access token issued by the plugin, and so `request.user` after `app.authenticate`. */
export interface OtpUser {
  /** The user's id, from `findOrCreateUser`. */
  sub: string
  /** E.164 phone number the user logged in with (a phone login). */
  phone?: string
  /** Lower-cased e-mail address the user logged in with (an e-mail login). */
  email?: string
  iat: number
  exp: number
  /** A unique id of this token. */
  jti?: string
  /** The session the token belongs to; absent when refreshTokenTtl is false. */
  sid?: string
  /** How the user signed in (RFC 8176 values where one exists): `sms`, `email`, `otp`, `recovery`, then `mfa` after two factors (e.g. `["sms","otp","mfa"]`). */
  amr?: string[]
  /** Seconds since the epoch when the sign-in completed; a refresh keeps it. */
  auth_time?: number
  /** Extra claims returned by `findOrCreateUser`. */
  [claim: string]: unknown
}

/** `app.otpSessions`: the host's own code ends sessions (a ban, a number change, an account deletion). */
export interface OtpSessions {
  /** The user's live sessions, newest first. */
  list: (userId: string) => Promise<SessionView[]>
  /** Ends one session of the user; false when it is not a live session of theirs. */
  revoke: (userId: string, sessionId: string) => Promise<boolean>
  /** Ends every session of the user; how many ended. */
  revokeAll: (userId: string) => Promise<number>
}

/** A passkey as the host sees it: no key material. */
export interface PasskeyView {
  /** The credential id, base64url. */
  id: string
  name: string
  /** Milliseconds since the epoch. */
  createdAt: number
  lastUsedAt: number | null
  /** Whether the credential is synced (multi-device) and currently backed up. */
  backedUp: boolean
}

/** What `app.otpCredentials.get` tells of a user. */
export interface OtpCredentialsView {
  /** Their authenticator (pending while `enabled` is false), or null. */
  totp: TotpStatus | null
  /** Their passkeys, oldest first. */
  passkeys: PasskeyView[]
}

/**
 * `app.otpCredentials`: the host's own code looks at and removes a user's credentials (support). In alternative
 * mode `get` and `removeTotp` take the identifier the authenticator is bound to instead of a user id.
 */
export interface OtpCredentials {
  get: (userId: string) => Promise<OtpCredentialsView>
  /** Removes the user's authenticator (pending or on) with its recovery codes; false when there was none. */
  removeTotp: (userId: string) => Promise<boolean>
  /** Removes one of the user's passkeys; false when they have none with this id. */
  removePasskey: (userId: string, id: string) => Promise<boolean>
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * `onRequest` handler: verifies the bearer token, checks that its session is live, and sets `request.user`;
     * or answers 401.
     */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    /**
     * An `onRequest` handler that does what `authenticate` does and then refuses (`403 OTP_FRESH_AUTH_REQUIRED`)
     * a token whose sign-in (`auth_time`) is more than `maxAge` seconds old (default: the `freshAuthAge` option).
     */
    requireFreshAuth: (maxAge?: number) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    otpSessions: OtpSessions
    otpCredentials: OtpCredentials
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: Record<string, unknown>
    user: OtpUser
  }
}

import type { FastifyReply, FastifyRequest } from 'fastify'
import type { SessionView } from './tokens.js'

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
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: Record<string, unknown>
    user: OtpUser
  }
}

import type { FastifyReply, FastifyRequest } from 'fastify'

/** The claims of an access token issued by the plugin, and so `request.user` after `app.authenticate`. */
export interface OtpUser {
  /** The user's id, from `findOrCreateUser`. */
  sub: string
  /** E.164 phone number the user logged in with. */
  phone?: string
  /** Lower-cased e-mail address the user logged in with (instead of `phone`). */
  email?: string
  iat: number
  exp: number
  /** A unique id of this token. */
  jti?: string
  /** The session (refresh-token family) the token belongs to; absent when refreshTokenTtl is false. */
  sid?: string
  /** Extra claims returned by `findOrCreateUser`. */
  [claim: string]: unknown
}

declare module 'fastify' {
  interface FastifyInstance {
    /** `onRequest` handler: verifies the bearer token and sets `request.user`, or answers 401. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: Record<string, unknown>
    user: OtpUser
  }
}

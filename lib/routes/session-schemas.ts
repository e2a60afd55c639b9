/** JSON schemas of the session routes: /refresh, /logout, GET /sessions and DELETE /sessions/:id. */
import { Type } from '@sinclair/typebox'
import { withBearerAuth, withoutAuth } from './openapi.js'
import { bodyErrors, error, originError, tokenAnswer, tooManyRequests, unavailable } from './schemas.js'

const tags = ['otp-login']
const tokenErrors = {
  401: error('`FST_JWT_…`: no, bad, expired or ended-session access token'),
  429: tooManyRequests('`OTP_RATE_LIMITED`, with a Retry-After header'),
  ...unavailable
}

export const refreshSchema = withoutAuth({
  tags,
  summary: 'Rotate a refresh token',
  description: 'Spends the refresh token for a new access token and a new refresh token. A spent token revokes its session.',
  body: Type.Object({ refresh: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
  response: {
    200: tokenAnswer('New tokens'),
    ...bodyErrors,
    401: error('`OTP_REFRESH_REUSED` (the session is revoked), `OTP_REFRESH_INVALID`'),
    429: tooManyRequests('`OTP_RATE_LIMITED`, with a Retry-After header'),
    ...unavailable
  }
})

/**
 * Cookie mode: the refresh token comes in its cookie, and the next one goes back in it. No body is needed; `{}`
 * is taken too (documented as an optional body, see optionalBody()).
 */
export const cookieRefreshSchema = withoutAuth({
  tags,
  summary: 'Rotate the refresh cookie',
  description: 'Spends the refresh token of the HttpOnly refresh cookie for a new access token, and sets the next refresh token in the cookie. A spent token revokes its session. No body.',
  body: Type.Object({}, { additionalProperties: false }),
  response: {
    200: tokenAnswer('A new access token (the refresh token is in the cookie)'),
    ...bodyErrors,
    401: error('`OTP_REFRESH_REUSED` (the session is revoked), `OTP_REFRESH_INVALID` (no, two, or an unknown refresh cookie)'),
    403: error('`OTP_ORIGIN_NOT_ALLOWED`: a request from a page of another origin'),
    429: tooManyRequests('`OTP_RATE_LIMITED`, with a Retry-After header'),
    ...unavailable
  }
})

export const logoutSchema = withBearerAuth({
  tags,
  summary: 'End sessions',
  description: 'Ends this session (`scope: "current"`, the default, also with no body), every other session of the user (`"others"`) or all of them (`"all"`); an ended session\'s access and refresh tokens stop working at once.',
  body: Type.Object({
    // An `enum`, not a union of literals: the validation message and the document stay as they were.
    scope: Type.Optional(Type.Unsafe<'current' | 'others' | 'all'>({ type: 'string', enum: ['current', 'others', 'all'] }))
  }, { additionalProperties: false }),
  response: {
    204: { description: 'Ended', type: 'null' },
    ...bodyErrors,
    400: error(`${bodyErrors[400].description}: a scope that does not exist, or other fields`),
    ...originError,
    ...tokenErrors
  }
})

const session = Type.Object({
  id: Type.String({ description: 'the session id (the `sid` claim of its access tokens)' }),
  createdAt: Type.Integer({ description: 'seconds since the epoch: the sign-in' }),
  lastUsedAt: Type.Integer({ description: 'seconds since the epoch: the sign-in or the last refresh' }),
  expiresAt: Type.Integer({ description: 'seconds since the epoch, unless refreshed before' }),
  amr: Type.Array(Type.String(), { description: 'sign-in methods (the amr claim), e.g. ["sms","otp","mfa"]' }),
  current: Type.Boolean({ description: 'the session of the token that asked' })
})

export const listSessionsSchema = withBearerAuth({
  tags,
  summary: "The user's live sessions",
  description: 'Newest first.',
  response: {
    200: Type.Object({ sessions: Type.Array(session) }, { description: 'Live sessions' }),
    ...tokenErrors
  }
})

export const endSessionSchema = withBearerAuth({
  tags,
  summary: 'End one of the user\'s sessions',
  params: Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{22}$' }) }, { additionalProperties: false }),
  response: {
    204: { description: 'Ended', type: 'null' },
    ...bodyErrors,
    400: error(`${bodyErrors[400].description}, or an id that is not a session id`),
    404: error('`OTP_SESSION_NOT_FOUND`: not a live session of this user'),
    ...tokenErrors
  }
})

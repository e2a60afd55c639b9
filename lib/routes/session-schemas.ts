/** JSON schemas of the session routes: /logout, GET /sessions and DELETE /sessions/:id. */
import { withBearerAuth } from './openapi.js'
import { error, tooManyRequests, unavailable } from './schemas.js'

const tags = ['otp-login']
const tokenErrors = {
  401: error('`FST_JWT_…`: no, bad, expired or ended-session access token'),
  429: tooManyRequests('`OTP_RATE_LIMITED`, with a Retry-After header'),
  ...unavailable
}

export const logoutSchema = withBearerAuth({
  tags,
  summary: 'End sessions',
  description: 'Ends this session (`scope: "current"`, the default, also with no body), every other session of the user (`"others"`) or all of them (`"all"`); an ended session\'s access and refresh tokens stop working at once.',
  body: {
    type: 'object',
    additionalProperties: false,
    properties: { scope: { type: 'string', enum: ['current', 'others', 'all'] } }
  },
  response: {
    204: { description: 'Ended', type: 'null' },
    400: error('`FST_ERR_VALIDATION`: a scope that does not exist, or other fields'),
    403: error('`OTP_ORIGIN_NOT_ALLOWED` (cookie mode): a request from a page of another origin'),
    ...tokenErrors
  }
} as const)

const session = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'the session id (the `sid` claim of its access tokens)' },
    createdAt: { type: 'integer', description: 'seconds since the epoch: the sign-in' },
    lastUsedAt: { type: 'integer', description: 'seconds since the epoch: the sign-in or the last refresh' },
    expiresAt: { type: 'integer', description: 'seconds since the epoch, unless refreshed before' },
    amr: { type: 'array', items: { type: 'string' }, description: 'sign-in methods, e.g. ["sms","totp"]' },
    current: { type: 'boolean', description: 'the session of the token that asked' }
  }
} as const

export const listSessionsSchema = withBearerAuth({
  tags,
  summary: "The user's live sessions",
  description: 'Newest first.',
  response: {
    200: { description: 'Live sessions', type: 'object', properties: { sessions: { type: 'array', items: session } } },
    ...tokenErrors
  }
} as const)

export const endSessionSchema = withBearerAuth({
  tags,
  summary: 'End one of the user\'s sessions',
  params: {
    type: 'object',
    required: ['id'],
    additionalProperties: false,
    properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' } }
  },
  response: {
    204: { description: 'Ended', type: 'null' },
    400: error('`FST_ERR_VALIDATION`: not a session id'),
    404: error('`OTP_SESSION_NOT_FOUND`: not a live session of this user'),
    ...tokenErrors
  }
} as const)

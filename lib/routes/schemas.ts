/** JSON schemas of the plugin's routes; validated with the plugin's own strict Ajv (no coercion, no stripping). */
import { withoutAuth } from './openapi.js'
import type { IdentifierKind } from '../identity.js'

// `code` is not required: the plugin's errors always have one, but a host's own error from findOrCreateUser (a
// 403 for a banned account, say) may not, and a required field it lacks would turn its answer into a 500.
export const errorBody = {
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string', description: 'always present in the plugin\'s own errors' },
    error: { type: 'string' },
    message: { type: 'string' },
    retryAfter: { type: 'integer', description: 'seconds; sent with a Retry-After header' }
  }
} as const

export const tokenBody = {
  type: 'object',
  properties: {
    access: { type: 'string' },
    tokenType: { type: 'string' },
    expiresIn: { type: 'integer', description: 'seconds until the access token expires' },
    refresh: { type: 'string', description: 'opaque refresh token; absent when refreshTokenTtl is false' },
    refreshExpiresIn: { type: 'integer', description: 'seconds until the refresh token expires unless rotated' },
    deviceToken: { type: 'string', description: 'opaque trusted-device token for this identifier; absent when trustedDevices is false' }
  }
} as const

/** A sign-in's first step: tokens, or for a user with an authenticator (second-factor mode) a second-factor token. */
export const firstFactorBody = {
  type: 'object',
  properties: {
    ...tokenBody.properties,
    mfaRequired: { type: 'boolean', description: 'true: no tokens yet; send mfaToken with an authenticator or recovery code' },
    mfaToken: { type: 'string', description: 'opaque, single use, for /verify-totp or /verify-recovery' },
    mfaExpiresIn: { type: 'integer', description: 'seconds until mfaToken expires' }
  }
} as const

/** The optional trusted-device token a sign-in route accepts. */
export const deviceTokenField = { type: 'string', minLength: 1, maxLength: 128, description: 'from an earlier sign-in on this device' } as const
export const withDeviceToken = (devices: boolean): Record<string, unknown> => devices ? { deviceToken: deviceTokenField } : {}

/** An error response, described by the codes it can carry. */
export const error = (description: string) => ({ description, ...errorBody })

/** A 429: the error body and the `Retry-After` header (@fastify/swagger documents a response's `headers`). */
export const tooManyRequests = (description: string) => ({
  ...error(description),
  headers: {
    'Retry-After': { type: 'integer', minimum: 0, description: 'seconds to wait before trying again (the body\'s `retryAfter`); absent when waiting would not help' }
  }
})

export const bodyErrors = {
  400: error('`FST_ERR_VALIDATION` (the body does not match the schema), `FST_ERR_CTP_INVALID_JSON_BODY`, `FST_ERR_CTP_EMPTY_JSON_BODY`'),
  413: error('`FST_ERR_CTP_BODY_TOO_LARGE`: a body over 1 KiB'),
  415: error('`FST_ERR_CTP_INVALID_MEDIA_TYPE`: not JSON')
}
export const identifierErrors = {
  ...bodyErrors,
  400: error(`${bodyErrors[400].description}, \`OTP_INVALID_PHONE\`, \`OTP_INVALID_EMAIL\``)
}
export const unavailable = { 503: error('`OTP_STORE_UNAVAILABLE`: the store cannot be reached; nothing was sent, no token issued') }

/** The identifier fields of a body: one of the enabled identifier kinds' fields, never both, never neither. */
export function identifierBody (kinds: ReadonlySet<IdentifierKind>, extra: Record<string, unknown> = {}, required: string[] = []) {
  const fields = [...kinds]
  return {
    type: 'object',
    additionalProperties: false,
    // An empty `required` is not valid OpenAPI 3.0 (and says nothing).
    ...(required.length > 0 ? { required } : {}),
    properties: Object.fromEntries([...fields.map((kind) => [kind, identifier[kind]]), ...Object.entries(extra)]),
    oneOf: fields.map((kind) => ({ required: [kind] }))
  }
}

const identifier = {
  phone: { type: 'string', minLength: 1, maxLength: 32, description: 'E.164, or national format with defaultCountry' },
  email: { type: 'string', minLength: 3, maxLength: 254, description: 'trimmed and lower-cased, domain in ASCII (punycode)' }
} as const

export function loginSchema (kinds: ReadonlySet<IdentifierKind>, devices: boolean, captcha: boolean) {
  return withoutAuth({
    tags: ['otp-login'],
    summary: 'Send a one-time code',
    description: 'Sends a code to a phone number or e-mail address; registers nothing yet. The answer is the same for new and known users.',
    body: identifierBody(kinds, {
      ...withDeviceToken(devices),
      ...(captcha ? { captchaToken: { type: 'string', maxLength: 4096, description: 'the Turnstile or hCaptcha response token of the page' } } : {})
    }),
    response: {
      200: {
        description: 'A code was sent',
        type: 'object',
        properties: {
          message: { type: 'string' },
          expiresIn: { type: 'integer', description: 'seconds the code stays valid' },
          resendIn: { type: 'integer', description: 'seconds before another code can be asked for' }
        }
      },
      ...identifierErrors,
      400: error(`${identifierErrors[400].description}, \`OTP_CAPTCHA_INVALID\` (with \`captcha\`: missing or refused)`),
      403: error('`OTP_ORIGIN_NOT_ALLOWED` (cookie mode): a request from a page of another origin'),
      429: tooManyRequests('`OTP_RESEND_TOO_SOON`, `OTP_LOCKED`, `OTP_SEND_BUDGET_EXCEEDED`, `OTP_RATE_LIMITED`; with a Retry-After header'),
      502: error('`OTP_DELIVERY_FAILED`: the code could not be sent; none is left behind'),
      503: error('`OTP_STORE_UNAVAILABLE`: the store cannot be reached; `OTP_CAPTCHA_UNAVAILABLE`: the captcha provider cannot be reached; nothing was sent')
    }
  })
}

export function verifySchema (kinds: ReadonlySet<IdentifierKind>, codeLength: number, devices: boolean) {
  const otp = { type: 'string', minLength: codeLength, maxLength: codeLength, pattern: `^[0-9]{${codeLength}}$` }
  return withoutAuth({
    tags: ['otp-login'],
    summary: 'Check a code and get tokens',
    description: 'Consumes the code and answers with an access token (and a refresh token unless sessions are off).',
    body: identifierBody(kinds, { otp, ...withDeviceToken(devices) }, ['otp']),
    response: {
      200: { description: 'Logged in, or (mfaRequired) the first factor of two is done', ...firstFactorBody },
      ...identifierErrors,
      403: error('`OTP_ORIGIN_NOT_ALLOWED` (cookie mode): a request from a page of another origin'),
      401: error('`OTP_INVALID`: wrong, expired, already used or never requested'),
      429: tooManyRequests('`OTP_ATTEMPTS_EXCEEDED`, `OTP_LOCKED` (with Retry-After), `OTP_RATE_LIMITED`'),
      ...unavailable
    }
  })
}

export const refreshSchema = withoutAuth({
  tags: ['otp-login'],
  summary: 'Rotate a refresh token',
  description: 'Spends the refresh token for a new access token and a new refresh token. A spent token revokes its session.',
  body: {
    type: 'object',
    required: ['refresh'],
    additionalProperties: false,
    properties: { refresh: { type: 'string', minLength: 1, maxLength: 128 } }
  },
  response: {
    200: { description: 'New tokens', ...tokenBody },
    ...bodyErrors,
    401: error('`OTP_REFRESH_REUSED` (the session is revoked), `OTP_REFRESH_INVALID`'),
    429: tooManyRequests('`OTP_RATE_LIMITED`, with a Retry-After header'),
    ...unavailable
  }
} as const)

/** Cookie mode: the refresh token comes in its cookie, and the next one goes back in it; no body either way. */
export const cookieRefreshSchema = withoutAuth({
  tags: ['otp-login'],
  summary: 'Rotate the refresh cookie',
  description: 'Spends the refresh token of the HttpOnly refresh cookie for a new access token, and sets the next refresh token in the cookie. A spent token revokes its session. No body.',
  body: { type: 'object', additionalProperties: false, properties: {} },
  response: {
    200: { description: 'A new access token (the refresh token is in the cookie)', ...tokenBody },
    ...bodyErrors,
    401: error('`OTP_REFRESH_REUSED` (the session is revoked), `OTP_REFRESH_INVALID` (no, two, or an unknown refresh cookie)'),
    403: error('`OTP_ORIGIN_NOT_ALLOWED`: a request from a page of another origin'),
    429: tooManyRequests('`OTP_RATE_LIMITED`, with a Retry-After header'),
    ...unavailable
  }
} as const)

/**
 * JSON schemas of the plugin's routes, written in TypeBox so that each is also the type of what it describes.
 * Validated with the plugin's own strict Ajv (no coercion, no stripping); serialised by Fastify's own serialiser.
 */
import { Type, type Static, type TObject, type TOptional, type TProperties, type TSchema, type TUnsafe } from '@sinclair/typebox'
import type { IdentifierKind } from '../identity.js'
import { withoutAuth } from './openapi.js'

const tags = ['otp-login']

// `code` is in every error of the plugin's own. A host's deliberate 4xx passing through (a 403 from
// findOrCreateUser, say) may lack one: it is then `null`, never a 500 for want of a required field.
const errorFields = {
  statusCode: Type.Integer(),
  code: Type.String({ nullable: true, default: null, description: 'what went wrong, for programs (`OTP_…`, `FST_…`); null only in a host\'s own error without one' }),
  error: Type.String(),
  message: Type.String(),
  retryAfter: Type.Optional(Type.Integer({ description: 'seconds; sent with a Retry-After header' }))
}

/** An error response, described by the codes it can carry. */
export const error = (description: string) => Type.Object(errorFields, { description })

/** A 429: the error body and the `Retry-After` header (@fastify/swagger documents a response's `headers`). */
export const tooManyRequests = (description: string) => Type.Object(errorFields, {
  description,
  headers: {
    'Retry-After': { type: 'integer', minimum: 0, description: 'seconds to wait before trying again (the body\'s `retryAfter`); absent when waiting would not help' }
  }
})

/** What every route that parses a JSON body can answer before its handler runs. */
export const bodyErrors = {
  400: error('`FST_ERR_VALIDATION` (the body does not match the schema), `FST_ERR_CTP_INVALID_JSON_BODY`, `FST_ERR_CTP_EMPTY_JSON_BODY`'),
  413: error('`FST_ERR_CTP_BODY_TOO_LARGE`: a body over 1 KiB'),
  415: error('`FST_ERR_CTP_INVALID_MEDIA_TYPE`: not JSON')
}
/** A route that takes no body still parses one that is sent, and can refuse it so. */
export const unusedBodyErrors = {
  400: error('`FST_ERR_CTP_INVALID_JSON_BODY`, `FST_ERR_CTP_EMPTY_JSON_BODY`: a body was sent that is not JSON'),
  413: bodyErrors[413],
  415: bodyErrors[415]
}
export const identifierErrors = {
  ...bodyErrors,
  400: error(`${bodyErrors[400].description}, \`OTP_INVALID_PHONE\`, \`OTP_INVALID_EMAIL\``)
}
export const unavailable = { 503: error('`OTP_STORE_UNAVAILABLE`: the store cannot be reached; nothing was sent, no token issued') }
export const originError = { 403: error('`OTP_ORIGIN_NOT_ALLOWED` (cookie mode): a request from a page of another origin') }

const tokenFields = {
  access: Type.String(),
  tokenType: Type.String(),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
  refresh: Type.Optional(Type.String({ description: 'opaque refresh token; absent when refreshTokenTtl is false, and in cookie mode' })),
  refreshExpiresIn: Type.Optional(Type.Integer({ description: 'seconds until the refresh token expires unless rotated' })),
  deviceToken: Type.Optional(Type.String({ description: 'opaque trusted-device token for this identifier; absent when trustedDevices is false, and in cookie mode' }))
}
const tokenBody = Type.Object(tokenFields, { additionalProperties: false })

/** Tokens: the answer of a sign-in that is complete, and of /refresh. */
export const tokenAnswer = (description: string) => Type.Object(tokenFields, { additionalProperties: false, description })

const mfaBody = Type.Object({
  mfaRequired: Type.Boolean({ description: 'always true: no tokens yet; send mfaToken with an authenticator or recovery code' }),
  mfaToken: Type.String({ description: 'opaque, single use, for /verify-totp or /verify-recovery' }),
  mfaExpiresIn: Type.Integer({ description: 'seconds until mfaToken expires' })
}, { additionalProperties: false })

/**
 * A sign-in's answer: tokens, or for a user with an authenticator (second-factor mode) a second-factor token.
 * Each shape requires its own fields and allows no other, so exactly one matches (the serialiser picks by it).
 */
export const signInBody = (description: string): TUnsafe<Static<typeof tokenBody> | Static<typeof mfaBody>> =>
  Type.Unsafe<Static<typeof tokenBody> | Static<typeof mfaBody>>({ oneOf: [tokenBody, mfaBody], description })

/** `fields` when `on`, else none; typed as `fields` either way, which every body fits: each field is optional. */
export const onlyIf = <P extends Record<string, TOptional<TSchema>>>(on: boolean, fields: P): P => on ? fields : {} as P

/** The optional trusted-device token a sign-in route accepts (with `trustedDevices`). */
export const deviceTokenField = (devices: boolean) =>
  onlyIf(devices, { deviceToken: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'from an earlier sign-in on this device' })) })

const identifierFields = {
  phone: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'E.164, or national format with defaultCountry' })),
  email: Type.Optional(Type.String({ minLength: 3, maxLength: 254, description: 'trimmed and lower-cased, domain in ASCII (punycode)' }))
}
type IdentifierFields = typeof identifierFields

/**
 * A body with the identifier fields: one of the enabled identifier kinds' fields, never both, never neither; no
 * other field than `extra`'s. Its type names both kinds' fields as optional, which every body it lets through fits.
 */
export function identifierBody<P extends TProperties> (kinds: ReadonlySet<IdentifierKind>, extra: P): TObject<IdentifierFields & P> {
  const fields = [...kinds]
  const enabled: Partial<IdentifierFields> = Object.fromEntries(fields.map((kind) => [kind, identifierFields[kind]]))
  return Type.Object({ ...enabled, ...extra } as IdentifierFields & P, {
    additionalProperties: false,
    oneOf: fields.map((kind) => ({ required: [kind] }))
  })
}

export function loginSchema (kinds: ReadonlySet<IdentifierKind>, devices: boolean, captcha: boolean) {
  const captchaField = onlyIf(captcha, { captchaToken: Type.Optional(Type.String({ maxLength: 4096, description: 'the Turnstile or hCaptcha response token of the page' })) })
  return withoutAuth({
    tags,
    summary: 'Send a one-time code',
    description: 'Sends a code to a phone number or e-mail address; registers nothing yet. The answer is the same for new and known users.',
    body: identifierBody(kinds, { ...deviceTokenField(devices), ...captchaField }),
    response: {
      200: Type.Object({
        message: Type.String(),
        expiresIn: Type.Integer({ description: 'seconds the code stays valid' }),
        resendIn: Type.Integer({ description: 'seconds before another code can be asked for' })
      }, { description: 'A code was sent' }),
      ...identifierErrors,
      400: error(`${identifierErrors[400].description}, \`OTP_CAPTCHA_INVALID\` (with \`captcha\`: missing or refused)`),
      ...originError,
      429: tooManyRequests('`OTP_RESEND_TOO_SOON`, `OTP_LOCKED`, `OTP_SEND_BUDGET_EXCEEDED`, `OTP_RATE_LIMITED`; with a Retry-After header'),
      502: error('`OTP_DELIVERY_FAILED`: the code could not be sent; none is left behind'),
      503: error('`OTP_STORE_UNAVAILABLE`: the store cannot be reached; `OTP_CAPTCHA_UNAVAILABLE`: the captcha provider cannot be reached; nothing was sent')
    }
  })
}

export function verifySchema (kinds: ReadonlySet<IdentifierKind>, codeLength: number, devices: boolean) {
  const otp = Type.String({ minLength: codeLength, maxLength: codeLength, pattern: `^[0-9]{${codeLength}}$` })
  return withoutAuth({
    tags,
    summary: 'Check a code and get tokens',
    description: 'Consumes the code and answers with an access token (and a refresh token unless sessions are off).',
    body: identifierBody(kinds, { otp, ...deviceTokenField(devices) }),
    response: {
      200: signInBody('Logged in, or (mfaRequired) the first factor of two is done'),
      ...identifierErrors,
      ...originError,
      401: error('`OTP_INVALID`: wrong, expired, already used or never requested'),
      429: tooManyRequests('`OTP_ATTEMPTS_EXCEEDED`, `OTP_LOCKED` (with Retry-After), `OTP_RATE_LIMITED`'),
      ...unavailable
    }
  })
}

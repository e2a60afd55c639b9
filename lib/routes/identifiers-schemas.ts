/** JSON schemas of the routes that add a phone number or e-mail address to a signed-in user's account. */
import { Type } from '@sinclair/typebox'
import type { IdentifierKind } from '../identity.js'
import { withBearerAuth } from './openapi.js'
import { error, identifierBody, identifierErrors, loginSchema, tooManyRequests, unavailable } from './schemas.js'

const tags = ['otp-login']
const jwtError = '`FST_JWT_…`: no, bad, expired or revoked access token'

/** `POST /identifiers`: the body and answers of /login (captcha included), for a signed-in user. */
export function addIdentifierSchema (kinds: ReadonlySet<IdentifierKind>, captcha: boolean) {
  // No device token: a device is trusted for the identifiers it signed in with, never for a new one.
  const login = loginSchema(kinds, false, captcha)
  return withBearerAuth({
    tags,
    summary: 'Send a code to a new phone number or e-mail address',
    description: 'Needs a fresh sign-in. Sends a code to the identifier to add, under the send limits of /login; the answer never tells whether the identifier is taken.',
    body: login.body,
    response: {
      ...login.response,
      401: error(jwtError),
      403: error('`OTP_FRESH_AUTH_REQUIRED`: the sign-in is older than freshAuthAge')
    }
  })
}

/** `POST /identifiers/verify`: the code sent by /identifiers, checked as /verify-otp checks one. */
export function verifyIdentifierSchema (kinds: ReadonlySet<IdentifierKind>, codeLength: number) {
  const otp = Type.String({ minLength: codeLength, maxLength: codeLength, pattern: `^[0-9]{${codeLength}}$` })
  return withBearerAuth({
    tags,
    summary: 'Add the phone number or e-mail address with its code',
    description: 'Consumes the code that /identifiers sent to this identifier for this user, then links the identifier to the account (the host\'s linkIdentifier).',
    body: identifierBody(kinds, { otp }),
    response: {
      200: Type.Object({
        identifier: Type.String({ description: 'the identifier added, normalised (E.164, or the lower-cased e-mail address)' })
      }, { additionalProperties: false, description: 'Added' }),
      ...identifierErrors,
      401: error(`\`OTP_INVALID\`: wrong, expired, already used, never requested, or sent for another user or purpose; ${jwtError}`),
      409: error('`OTP_IDENTIFIER_TAKEN` (or the host\'s own 409): the identifier belongs to another account'),
      429: tooManyRequests('`OTP_ATTEMPTS_EXCEEDED`, `OTP_LOCKED` (with Retry-After), `OTP_RATE_LIMITED`'),
      ...unavailable
    }
  })
}

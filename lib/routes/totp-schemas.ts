/** JSON schemas of the authenticator routes, documented like the others for OpenAPI. */
import { Type } from '@sinclair/typebox'
import type { IdentifierKind } from '../identity.js'
import { withBearerAuth, withoutAuth } from './openapi.js'
import {
  bodyErrors, deviceTokenField, error, identifierBody, identifierErrors, originError, signInBody, tooManyRequests,
  unavailable, unusedBodyErrors
} from './schemas.js'

// Authenticator apps show 6 digits, whatever codeLength the plugin's own codes have.
const otp = Type.String({ minLength: 6, maxLength: 6, pattern: '^[0-9]{6}$' })
const recoveryCode = Type.String({ minLength: 10, maxLength: 32, pattern: '^[A-Za-z0-9 -]+$' })
const tags = ['otp-login']
const sessionErrors = {
  401: error('`FST_JWT_…`: no, bad, expired or revoked access token'),
  403: error('`OTP_FRESH_AUTH_REQUIRED`: the sign-in is older than freshAuthAge; `OTP_TOTP_NO_IDENTIFIER` (alternative mode): the token carries neither phone nor email'),
  429: tooManyRequests('`OTP_RATE_LIMITED`, with a Retry-After header'),
  ...unavailable
}
const loginErrors = {
  ...identifierErrors,
  ...originError,
  401: error('`OTP_INVALID`: wrong, already used, too far from now, or no authenticator on'),
  429: tooManyRequests('`OTP_LOCKED` (with Retry-After), `OTP_GUESS_PENDING` (earlier guesses still being checked; Retry-After: 1), `OTP_RATE_LIMITED`'),
  ...unavailable
}

export const setupSchema = withBearerAuth({
  tags,
  summary: 'Start setting up an authenticator app',
  description: 'A new secret for the logged-in identifier, pending until /totp/confirm.',
  response: {
    200: Type.Object({
      secret: Type.String({ description: 'base32, for typing into an app' }),
      otpauthUrl: Type.String(),
      qrCode: Type.String({ description: 'an SVG data URL of otpauthUrl' })
    }, { description: 'Show the QR code (or the secret) to the user' }),
    ...unusedBodyErrors,
    ...sessionErrors,
    409: error('`OTP_TOTP_ALREADY_ENABLED`: turn it off first')
  }
})

export const confirmSchema = withBearerAuth({
  tags,
  summary: 'Turn the authenticator on with its first code',
  description: 'Answers the ten recovery codes, once.',
  body: Type.Object({ otp }, { additionalProperties: false }),
  response: {
    200: Type.Object({ recoveryCodes: Type.Array(Type.String()) }, { description: 'On; show the recovery codes once' }),
    ...bodyErrors,
    ...sessionErrors,
    401: error('`OTP_INVALID` (not a code of the pending secret), or an access-token error (`FST_JWT_…`)'),
    409: error('`OTP_TOTP_NOT_PENDING`, `OTP_TOTP_ALREADY_ENABLED`')
  }
})

export const recoveryCodesSchema = withBearerAuth({
  tags,
  summary: 'New recovery codes',
  description: 'Ten new recovery codes, shown once; the old ones stop working.',
  response: {
    200: Type.Object({ recoveryCodes: Type.Array(Type.String()) }, { description: 'Show the new recovery codes once' }),
    ...unusedBodyErrors,
    ...sessionErrors,
    409: error('`OTP_TOTP_NOT_ENABLED`: no authenticator is on'),
    501: error("`OTP_STORE_UNSUPPORTED`: the host's credential store is a 0.1 `totpStore`, which cannot replace recovery codes")
  }
})

export const disableSchema = withBearerAuth({
  tags,
  summary: 'Turn the authenticator off',
  response: { 204: { description: 'Off (or already off)', type: 'null' }, ...unusedBodyErrors, ...sessionErrors }
})

// The answer of every sign-in route has the same two shapes, though these two give the second-factor one never.
const signedIn = signInBody('Logged in')

/** Alternative mode: an authenticator code logs in on its own. */
export function verifyTotpSchema (kinds: ReadonlySet<IdentifierKind>, devices: boolean) {
  return withoutAuth({
    tags,
    summary: 'Log in with an authenticator code',
    description: 'The same tokens as /verify-otp; a time step is accepted once; failures count toward the lockout.',
    body: identifierBody(kinds, { otp, ...deviceTokenField(devices) }),
    response: { 200: signedIn, ...loginErrors }
  })
}

export function verifyRecoverySchema (kinds: ReadonlySet<IdentifierKind>, devices: boolean) {
  return withoutAuth({
    tags,
    summary: 'Log in with a recovery code',
    description: 'Each recovery code works once; failures count toward the lockout.',
    body: identifierBody(kinds, { code: recoveryCode, ...deviceTokenField(devices) }),
    response: { 200: signedIn, ...loginErrors }
  })
}

// Checked by the route, so that a missing, foreign or malformed token gets 401 OTP_MFA_TOKEN_INVALID.
const mfaToken = Type.Optional(Type.String({ maxLength: 512, description: 'from the mfaRequired answer of /verify-otp' }))
const secondStepErrors = {
  ...bodyErrors,
  ...originError,
  401: error('`OTP_MFA_TOKEN_INVALID`: missing, unknown, expired or used mfaToken; `OTP_INVALID`: wrong code, or a time step already used'),
  429: tooManyRequests('`OTP_ATTEMPTS_EXCEEDED` (the mfaToken took maxAttempts wrong codes), `OTP_LOCKED` (with Retry-After), `OTP_GUESS_PENDING` (earlier guesses still being checked; Retry-After: 1), `OTP_RATE_LIMITED`'),
  ...unavailable
}

/** Second-factor mode: the second step of a sign-in, with the mfaToken of the first. */
export function mfaTotpSchema (devices: boolean) {
  return withoutAuth({
    tags,
    summary: 'Finish a sign-in with an authenticator code',
    description: 'The second step after /verify-otp answered mfaRequired: the same tokens as /verify-otp. Wrong codes count toward the lockout.',
    body: Type.Object({ mfaToken, otp, ...deviceTokenField(devices) }, { additionalProperties: false }),
    response: { 200: signedIn, ...secondStepErrors }
  })
}

export function mfaRecoverySchema (devices: boolean) {
  return withoutAuth({
    tags,
    summary: 'Finish a sign-in with a recovery code',
    description: 'The second step after /verify-otp answered mfaRequired; each recovery code works once.',
    body: Type.Object({ mfaToken, code: recoveryCode, ...deviceTokenField(devices) }, { additionalProperties: false }),
    response: { 200: signedIn, ...secondStepErrors }
  })
}

/** JSON schemas of the passkey routes (WebAuthn through @simplewebauthn/server), documented for OpenAPI. */
import { Type, type TSchema } from '@sinclair/typebox'
import { withBearerAuth, withoutAuth } from './openapi.js'
import { deviceTokenField, error, originError, signInBody, tooManyRequests, unavailable, unusedBodyErrors } from './schemas.js'

const tags = ['otp-login']
const b64 = (maxLength: number, more: Record<string, unknown> = {}) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+$', ...more })
// What the browser's JSON of a credential carries besides its response (@simplewebauthn/browser's shape).
/**
 * The longest credential id accepted, base64url (525 bytes; real ones are 16 to 64): what every credential store
 * keeps (the SQL store's id column is varchar(700)).
 */
export const maxCredentialIdLength = 700
const transport = Type.String({ maxLength: 32, pattern: '^[a-z-]+$' })
const credentialFields = {
  id: b64(maxCredentialIdLength, { description: 'the credential id, base64url' }),
  rawId: b64(maxCredentialIdLength),
  type: Type.Literal('public-key'),
  authenticatorAttachment: Type.Optional(Type.String({ maxLength: 32 })),
  clientExtensionResults: Type.Object({}, { maxProperties: 16, description: 'the extensions\' outputs, as the browser gave them' })
}
/** A passkey's name: 1 to 64 characters, no control characters. */
const passkeyName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f\\u007f]+$' })
const passkeyId = b64(maxCredentialIdLength, { description: 'the credential id, base64url' })

/** `RegistrationResponseJSON` of `navigator.credentials.create()`. */
export const registrationResponse = Type.Object({
  ...credentialFields,
  response: Type.Object({
    clientDataJSON: b64(4096),
    attestationObject: b64(16384),
    authenticatorData: Type.Optional(b64(16384)),
    transports: Type.Optional(Type.Array(transport, { maxItems: 8 })),
    publicKeyAlgorithm: Type.Optional(Type.Integer()),
    publicKey: Type.Optional(b64(4096))
  }, { additionalProperties: false })
}, { additionalProperties: false })

/** `AuthenticationResponseJSON` of `navigator.credentials.get()`. */
export const authenticationResponse = Type.Object({
  ...credentialFields,
  response: Type.Object({
    clientDataJSON: b64(4096),
    authenticatorData: b64(4096),
    signature: b64(1024),
    userHandle: Type.Optional(b64(128))
  }, { additionalProperties: false })
}, { additionalProperties: false })

// The options' JSON is @simplewebauthn/server's, passed on whole: its objects keep every field.
const open = (properties: Record<string, TSchema>, description?: string) =>
  Type.Object(properties, { additionalProperties: true, ...(description === undefined ? {} : { description }) })
const descriptor = open({ id: Type.String(), type: Type.String(), transports: Type.Optional(Type.Array(Type.String())) })
const creationOptions = open({
  rp: open({ name: Type.String(), id: Type.Optional(Type.String()) }),
  user: open({ id: Type.String({ description: 'opaque, base64url: never the phone number or e-mail address' }), name: Type.String(), displayName: Type.String() }),
  challenge: Type.String(),
  pubKeyCredParams: Type.Array(open({ alg: Type.Integer(), type: Type.String() })),
  timeout: Type.Optional(Type.Integer()),
  excludeCredentials: Type.Optional(Type.Array(descriptor)),
  authenticatorSelection: Type.Optional(open({})),
  hints: Type.Optional(Type.Array(Type.String())),
  attestation: Type.Optional(Type.String()),
  extensions: Type.Optional(open({}))
}, 'PublicKeyCredentialCreationOptionsJSON: hand it to the browser (`startRegistration` of @simplewebauthn/browser)')
const requestOptions = open({
  challenge: Type.String({ description: 'single use, valid for 300 seconds' }),
  timeout: Type.Optional(Type.Integer()),
  rpId: Type.Optional(Type.String()),
  allowCredentials: Type.Optional(Type.Array(descriptor)),
  userVerification: Type.Optional(Type.String()),
  hints: Type.Optional(Type.Array(Type.String())),
  extensions: Type.Optional(open({}))
}, 'PublicKeyCredentialRequestOptionsJSON for a discoverable credential: hand it to the browser (`startAuthentication`)')

const bodyErrors = (limit: string) => ({
  400: error('`FST_ERR_VALIDATION` (the body does not match the schema), `FST_ERR_CTP_INVALID_JSON_BODY`, `FST_ERR_CTP_EMPTY_JSON_BODY`'),
  413: error(`\`FST_ERR_CTP_BODY_TOO_LARGE\`: a body over ${limit}`),
  415: error('`FST_ERR_CTP_INVALID_MEDIA_TYPE`: not JSON')
})
const sessionErrors = {
  401: error('`FST_JWT_…`: no, bad, expired or revoked access token'),
  429: tooManyRequests('`OTP_RATE_LIMITED`, with a Retry-After header'),
  ...unavailable
}
const accountErrors = { ...sessionErrors, 403: error('`OTP_FRESH_AUTH_REQUIRED`: the sign-in is older than freshAuthAge') }
const passkeyInfo = Type.Object({
  id: passkeyId,
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'null until its first sign-in' }),
  backedUp: Type.Boolean({ description: 'synced to other devices (a multi-device passkey)' })
}, { additionalProperties: false })

export const registerOptionsSchema = withBearerAuth({
  tags,
  summary: 'Start adding a passkey',
  description: 'Needs a fresh sign-in. The challenge is bound to the user, single use, valid for 300 seconds.',
  response: {
    200: creationOptions,
    ...unusedBodyErrors,
    ...accountErrors,
    409: error('`OTP_PASSKEY_LIMIT`: the user has 20 passkeys; remove one first')
  }
})

export const registerSchema = withBearerAuth({
  tags,
  summary: 'Add a passkey',
  description: 'The browser\'s answer to /passkeys/register/options. Needs a fresh sign-in.',
  body: Type.Object({ response: registrationResponse, name: Type.Optional(passkeyName) }, { additionalProperties: false }),
  response: {
    200: Type.Object({ id: passkeyId, name: Type.String(), createdAt: Type.String({ format: 'date-time' }) }, { additionalProperties: false, description: 'Added' }),
    ...bodyErrors('32 KiB'),
    400: error('`FST_ERR_VALIDATION`, `FST_ERR_CTP_…`; `OTP_PASSKEY_INVALID`: the response does not verify (challenge not given to this user, used or expired, origin, rpId, user verification)'),
    ...accountErrors,
    409: error('`OTP_PASSKEY_EXISTS`: this credential is registered already; `OTP_PASSKEY_LIMIT`: the user has 20 passkeys')
  }
})

export const loginOptionsSchema = withoutAuth({
  tags,
  summary: 'Start a passkey sign-in',
  response: {
    200: requestOptions,
    ...unusedBodyErrors,
    429: tooManyRequests('`OTP_RATE_LIMITED`, with a Retry-After header'),
    ...unavailable
  }
})

export function loginSchema (devices: boolean) {
  return withoutAuth({
    tags,
    summary: 'Sign in with a passkey',
    description: 'The browser\'s answer to /passkeys/login/options: the same tokens as /verify-otp, complete in second-factor mode too (amr `hwk` or `swk`, and `mfa`).',
    body: Type.Object({ response: authenticationResponse, ...deviceTokenField(devices) }, { additionalProperties: false }),
    response: {
      200: signInBody('Logged in'),
      ...bodyErrors('8 KiB'),
      ...originError,
      401: error('`OTP_PASSKEY_INVALID`: unknown passkey, used or expired challenge, wrong origin or rpId, no user verification, or a counter that went backwards; one body for all'),
      429: tooManyRequests('`OTP_RATE_LIMITED`, with a Retry-After header'),
      ...unavailable
    }
  })
}

export const listSchema = withBearerAuth({
  tags,
  summary: 'The user\'s passkeys',
  response: {
    200: Type.Object({ passkeys: Type.Array(passkeyInfo) }, { additionalProperties: false, description: 'Oldest first; times are ISO 8601' }),
    ...sessionErrors
  }
})

const idParams = Type.Object({ id: passkeyId }, { additionalProperties: false })
const notFound = { 404: error('`OTP_PASSKEY_NOT_FOUND`: no passkey of this user has this id') }

export const renameSchema = withBearerAuth({
  tags,
  summary: 'Rename a passkey',
  params: idParams,
  body: Type.Object({ name: passkeyName }, { additionalProperties: false }),
  response: {
    200: Type.Object({ id: passkeyId, name: Type.String() }, { additionalProperties: false, description: 'Renamed' }),
    ...bodyErrors('1 KiB'),
    ...accountErrors,
    ...notFound
  }
})

export const removeSchema = withBearerAuth({
  tags,
  summary: 'Remove a passkey',
  params: idParams,
  response: { 204: { description: 'Removed', type: 'null' }, ...unusedBodyErrors, ...accountErrors, ...notFound }
})

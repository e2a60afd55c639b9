/** JSON schemas of the authenticator routes. */
import { errorBody, identifierBody, tokenBody } from './schemas.js'

type IdentifierKind = 'phone' | 'email'

// Authenticator apps show 6 digits, whatever codeLength the plugin's own codes have.
const otp = { type: 'string', minLength: 6, maxLength: 6, pattern: '^[0-9]{6}$' } as const
const recoveryCode = { type: 'string', minLength: 10, maxLength: 32, pattern: '^[A-Za-z0-9 -]+$' } as const
const authenticated = {
  type: 'object',
  required: ['authorization'],
  properties: { authorization: { type: 'string', maxLength: 4096 } }
} as const
const errors = { '4xx': errorBody, '5xx': errorBody } as const

export const setupSchema = {
  headers: authenticated,
  response: {
    200: {
      type: 'object',
      properties: {
        secret: { type: 'string', description: 'base32, for typing into an app' },
        otpauthUrl: { type: 'string' },
        qrCode: { type: 'string', description: 'an SVG data URL of otpauthUrl' }
      }
    },
    ...errors
  }
} as const

export const confirmSchema = {
  headers: authenticated,
  body: { type: 'object', required: ['otp'], additionalProperties: false, properties: { otp } },
  response: {
    200: { type: 'object', properties: { recoveryCodes: { type: 'array', items: { type: 'string' } } } },
    ...errors
  }
} as const

export const disableSchema = {
  headers: authenticated,
  response: { 204: { type: 'null' }, ...errors }
} as const

export function verifyTotpSchema (channels: ReadonlySet<IdentifierKind>) {
  return { body: identifierBody(channels, { otp }, ['otp']), response: { 200: tokenBody, ...errors } }
}

export function verifyRecoverySchema (channels: ReadonlySet<IdentifierKind>) {
  return { body: identifierBody(channels, { code: recoveryCode }, ['code']), response: { 200: tokenBody, ...errors } }
}

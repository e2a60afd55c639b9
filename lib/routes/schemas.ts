/** JSON schemas of the plugin's routes; validated with the plugin's own strict Ajv (no coercion, no stripping). */

export const errorBody = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
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
    refreshExpiresIn: { type: 'integer', description: 'seconds until the refresh token expires unless rotated' }
  }
} as const

type IdentifierKind = 'phone' | 'email'

/** The identifier fields of a body: one of the enabled channels' fields, never both, never neither. */
export function identifierBody (channels: ReadonlySet<IdentifierKind>, extra: Record<string, unknown> = {}, required: string[] = []) {
  const fields = [...channels]
  return {
    type: 'object',
    additionalProperties: false,
    required,
    properties: Object.fromEntries([...fields.map((kind) => [kind, identifier[kind]]), ...Object.entries(extra)]),
    oneOf: fields.map((kind) => ({ required: [kind] }))
  }
}

const identifier = {
  phone: { type: 'string', minLength: 1, maxLength: 32, description: 'E.164, or national format with defaultCountry' },
  email: { type: 'string', minLength: 3, maxLength: 254, description: 'trimmed and lower-cased' }
} as const

export function loginSchema (channels: ReadonlySet<IdentifierKind>) {
  return {
    body: identifierBody(channels),
    response: {
      200: {
        type: 'object',
        properties: {
          message: { type: 'string' },
          expiresIn: { type: 'integer' },
          resendIn: { type: 'integer' }
        }
      },
      '4xx': errorBody,
      '5xx': errorBody
    }
  }
}

export function verifySchema (channels: ReadonlySet<IdentifierKind>, codeLength: number) {
  const otp = { type: 'string', minLength: codeLength, maxLength: codeLength, pattern: `^[0-9]{${codeLength}}$` }
  return {
    body: identifierBody(channels, { otp }, ['otp']),
    response: {
      200: tokenBody,
      '4xx': errorBody,
      '5xx': errorBody
    }
  }
}

export const refreshSchema = {
  body: {
    type: 'object',
    required: ['refresh'],
    additionalProperties: false,
    properties: { refresh: { type: 'string', minLength: 1, maxLength: 128 } }
  },
  response: { 200: tokenBody, '4xx': errorBody, '5xx': errorBody }
} as const

export const logoutSchema = {
  headers: {
    type: 'object',
    required: ['authorization'],
    properties: { authorization: { type: 'string', maxLength: 4096 } }
  },
  response: { 204: { type: 'null' }, '4xx': errorBody, '5xx': errorBody }
} as const

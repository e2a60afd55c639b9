/** JSON schemas of the plugin's routes; validated with the plugin's own strict Ajv (no coercion, no stripping). */

const phone = { type: 'string', minLength: 1, maxLength: 32 } as const

const errorBody = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' },
    retryAfter: { type: 'integer', description: 'seconds; sent with a Retry-After header' }
  }
} as const

const tokenBody = {
  type: 'object',
  properties: {
    access: { type: 'string' },
    tokenType: { type: 'string' },
    expiresIn: { type: 'integer', description: 'seconds until the access token expires' },
    refresh: { type: 'string', description: 'opaque refresh token; absent when refreshTokenTtl is false' },
    refreshExpiresIn: { type: 'integer', description: 'seconds until the refresh token expires unless rotated' }
  }
} as const

export const loginSchema = {
  body: {
    type: 'object',
    required: ['phone'],
    additionalProperties: false,
    properties: { phone }
  },
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
} as const

export function verifySchema (codeLength: number) {
  return {
    body: {
      type: 'object',
      required: ['phone', 'otp'],
      additionalProperties: false,
      properties: {
        phone,
        otp: { type: 'string', minLength: codeLength, maxLength: codeLength, pattern: `^[0-9]{${codeLength}}$` }
      }
    },
    response: {
      200: tokenBody,
      '4xx': errorBody,
      '5xx': errorBody
    }
  } as const
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

import { STATUS_CODES } from 'node:http'
import rateLimit from '@fastify/rate-limit'
import Ajv from 'ajv'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { generateCode, hashCode } from '../codes.js'
import {
  AttemptsExceededError, DeliveryFailedError, InvalidCodeError, InvalidPhoneError, LockedError, RateLimitedError,
  ResendTooSoonError, StoreUnavailableError, isOtpError, withRetryAfter, type OtpError
} from '../errors.js'
import { normalizePhone } from '../identity.js'
import type { ResolvedOptions } from '../options.js'
import { failClosedRateLimitStore } from '../store/rate-limit.js'
import type { OtpStore } from '../store/types.js'
import { loginSchema, verifySchema } from './schemas.js'

export interface OtpRoutesOptions {
  settings: ResolvedOptions
  store: OtpStore
  /** Signs the access token for these claims. */
  signAccessToken: (reply: FastifyReply, claims: Record<string, unknown>) => Promise<string>
}

interface LoginBody { phone: string }
interface VerifyBody { phone: string, otp: string }

// Extra fields are refused, not silently dropped, and nothing is coerced: `{ "otp": 123456 }` is a 400.
const ajv = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: false })

/** Encapsulated: the error handler, validator and rate limits apply to these routes only. */
export async function otpRoutes (fastify: FastifyInstance, { settings, store, signAccessToken }: OtpRoutesOptions): Promise<void> {
  fastify.setValidatorCompiler(({ schema }) => ajv.compile(schema))
  fastify.setErrorHandler(function otpErrorHandler (error, request, reply) {
    if (!isOtpError(error)) throw error
    if (error.cause !== undefined) request.log.error({ err: error.cause }, `fastify-otp-login: ${error.code}`)
    sendError(reply, error)
  })

  if (settings.rateLimit) {
    await fastify.register(rateLimit, {
      global: false,
      ...(settings.redis ? { store: failClosedRateLimitStore(settings.redis, settings.keyPrefix) } : {}),
      errorResponseBuilder: (_request, context) => withRetryAfter(new RateLimitedError(context.after), context.ttl)
    })
  }
  const routeLimit = (limit: false | { max: number, timeWindow: string | number }) => limit ? { rateLimit: limit } : {}

  const phonePolicy = { defaultCountry: settings.defaultCountry, allowedCountries: settings.allowedCountries }
  const readPhone = (input: string): string => {
    const phone = normalizePhone(input, phonePolicy)
    if (phone === undefined) throw new InvalidPhoneError()
    return phone
  }
  const reachStore = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation()
    } catch (err) {
      throw new StoreUnavailableError({ cause: err })
    }
  }

  const issuePolicy = {
    codeTtlMs: settings.codeTtl * 1000,
    maxSends: settings.maxSends,
    windowMs: settings.lockout * 1000,
    resendIntervalMs: settings.resendInterval * 1000
  }
  const verifyPolicy = {
    maxAttempts: settings.maxAttempts,
    maxFailures: settings.maxFailures,
    lockoutMs: settings.lockout * 1000
  }
  const sent = { message: 'OTP sent', expiresIn: settings.codeTtl, resendIn: settings.resendInterval }

  fastify.post<{ Body: LoginBody }>('/login', {
    schema: loginSchema,
    bodyLimit: 1024,
    config: routeLimit(settings.rateLimit && settings.rateLimit.login)
  }, async function login (request) {
    const phone = readPhone(request.body.phone)
    const code = generateCode(settings.codeLength)
    const codeHash = hashCode(settings.codeSecret, phone, code)

    const issued = await reachStore(() => store.issueCode(phone, codeHash, issuePolicy))
    if (issued.status === 'locked') throw withRetryAfter(new LockedError(), issued.retryAfterMs)
    if (issued.status === 'too_soon') throw withRetryAfter(new ResendTooSoonError(), issued.retryAfterMs)

    try {
      await settings.send({ channel: 'sms', to: phone, code, expiresIn: settings.codeTtl, request })
    } catch (err) {
      // A provider may echo the message back in its error: the log gets the reason, never the code.
      request.log.error({ reason: describeFailure(err, code) }, 'fastify-otp-login: OTP_DELIVERY_FAILED')
      // Leave no usable code behind, and give the send back so a provider outage does not lock users out.
      await store.revokeCode(phone, codeHash).catch((revokeErr: unknown) => {
        request.log.error({ err: revokeErr }, 'fastify-otp-login: could not revoke an undelivered code')
      })
      throw new DeliveryFailedError()
    }
    return sent
  })

  fastify.post<{ Body: VerifyBody }>('/verify-otp', {
    schema: verifySchema(settings.codeLength),
    bodyLimit: 1024,
    config: routeLimit(settings.rateLimit && settings.rateLimit.verify)
  }, async function verifyOtp (request, reply) {
    const phone = readPhone(request.body.phone)
    const codeHash = hashCode(settings.codeSecret, phone, request.body.otp)

    const result = await reachStore(() => store.verifyCode(phone, codeHash, verifyPolicy))
    if (result.status === 'locked') throw withRetryAfter(new LockedError(), result.retryAfterMs)
    if (result.status === 'burned') throw new AttemptsExceededError()
    if (result.status === 'invalid') throw new InvalidCodeError()

    const user = await settings.findOrCreateUser({ phone, request })
    if (user === null || typeof user !== 'object' || (typeof user.id !== 'string' && typeof user.id !== 'number') || user.id === '') {
      throw new Error('fastify-otp-login: findOrCreateUser must return an object with a non-empty id')
    }
    const access = await signAccessToken(reply, { ...extraClaims(user), sub: String(user.id), phone })
    return { access, tokenType: 'Bearer', expiresIn: settings.accessTokenTtl }
  })
}

// Claims the plugin or the signer sets; a value of the same name from findOrCreateUser is dropped.
const reservedClaims = new Set(['id', 'sub', 'phone', 'email', 'iat', 'exp', 'nbf', 'jti'])
function extraClaims (user: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(user).filter(([name]) => !reservedClaims.has(name)))
}

function describeFailure (err: unknown, code: string): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return text.replaceAll(code, '[code]')
}

function sendError (reply: FastifyReply, error: OtpError): FastifyReply {
  const body: Record<string, unknown> = {
    statusCode: error.statusCode,
    code: error.code,
    error: STATUS_CODES[error.statusCode],
    message: error.message
  }
  if (error.retryAfter !== undefined) {
    reply.header('retry-after', String(error.retryAfter))
    body.retryAfter = error.retryAfter
  }
  return reply.code(error.statusCode).send(body)
}

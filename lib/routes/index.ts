import { STATUS_CODES } from 'node:http'
import fastifyCookie from '@fastify/cookie'
import rateLimit from '@fastify/rate-limit'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Ajv from 'ajv'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { InternalError, RateLimitedError, isOtpError, plainError, withRetryAfter, type OtpError } from '../errors.js'
import { failClosedRateLimitStore } from '../store/rate-limit.js'
import type { PasskeyIdentity } from '../store/credentials/types.js'
import { routeLimit, type GuessLimits, type RoutesOptions } from './context.js'
import { cookieJar, type CookieJar } from './cookies.js'
import { documentRoutes } from './openapi.js'
import { identifierRoutes } from './identifiers.js'
import { codeSteps, otpRoutes } from './otp.js'
import { passkeyRoutes } from './passkeys.js'
import { sessionRoutes } from './sessions.js'
import { identityReader, signInFlow, userOwner } from './sign-in.js'
import { totpRoutes } from './totp.js'

// Extra fields are refused, not silently dropped, and nothing is coerced: `{ "otp": 123456 }` is a 400.
const ajv = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: false })

/**
 * The plugin's routes, in their own encapsulated context: the strict validator, the error handler and the
 * per-IP rate limits apply to them and to nothing of the host's.
 */
export async function routes (fastify: FastifyInstance, options: RoutesOptions): Promise<void> {
  fastify.setValidatorCompiler(({ schema }) => ajv.compile(schema))
  fastify.setErrorHandler(function otpErrorHandler (error, request, reply) {
    if (isOtpError(error)) {
      if (error.cause !== undefined) request.log.error({ err: plainError(error.cause) }, `fastify-otp-login: ${error.code}`)
      return sendError(reply, error)
    }
    // Fastify's own 4xx (validation, body parsing) and a host's deliberate ones (a 403 from findOrCreateUser)
    // go on to the host's error handler.
    const status = (error as { statusCode?: unknown }).statusCode
    if (typeof status === 'number' && status >= 400 && status < 500) throw error
    // Anything else is a bug or an outage somewhere (a throw from findOrCreateUser, say): its message may
    // name hosts or data, so it goes to the log and the client gets a plain 500.
    request.log.error({ err: plainError(error) }, 'fastify-otp-login: OTP_INTERNAL_ERROR')
    return sendError(reply, new InternalError())
  })

  // Tokens, authenticator secrets and recovery codes must not sit in a shared or browser cache.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    reply.header('cache-control', 'no-store')
    done()
  })

  const { settings, store, tokens, emit, totp, devices, verifyToken, passkeys } = options
  if (settings.rateLimit) {
    await fastify.register(rateLimit, {
      global: false,
      ...(settings.redis ? { store: failClosedRateLimitStore(settings.redis, settings.keyPrefix, settings.storeTimeout) } : {}),
      errorResponseBuilder: (_request, context) => withRetryAfter(new RateLimitedError(context.after), context.ttl)
    })
  }

  let cookies: CookieJar | undefined
  if (settings.cookie) {
    // Only where the host has not registered @fastify/cookie already; in this context, for these routes.
    if (!fastify.hasReplyDecorator('setCookie')) await fastify.register(fastifyCookie)
    cookies = cookieJar(settings.cookie, settings.refreshTokenTtl, settings.trustedDevices && settings.trustedDevices.ttl, settings.allowedOrigins)
  }

  documentRoutes(fastify)
  // Each group gets the few values it needs, picked here: the settings stop at this file.
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const limit = settings.rateLimit
  const secondFactor = totp !== undefined && settings.totp?.mode === 'second-factor' ? totp : undefined
  const signIn = signInFlow({ findOrCreateUser: settings.findOrCreateUser, store, tokens, emit, devices, cookies, secondFactor })
  const identities = identityReader(pick(settings, 'defaultCountry', 'allowedCountries', 'testIdentities'))
  const limits: GuessLimits = pick(settings, 'maxAttempts', 'maxFailures', 'lockout')
  const signInGroup = { fastify: app, emit, cookies, store, devices, identities, signIn, identifierKinds: settings.identifierKinds, limits }
  const codeConfig = { login: routeLimit(limit && limit.login), verify: routeLimit(limit && limit.verify) }
  const otpInput = {
    ...signInGroup,
    ...pick(settings, 'codeLength', 'codeTtl', 'codeSecret', 'maxSends', 'maxSendsPerIdentifier', 'resendInterval', 'testIdentities', 'send', 'sendTimeout', 'smsBudget', 'captcha'),
    config: codeConfig
  }
  otpRoutes(otpInput)
  if (settings.linkIdentifier) {
    const { linkIdentifier } = settings
    const captcha = settings.captcha !== undefined
    const rebindPasskeys = passkeys && (async (userId: string, identity: PasskeyIdentity) => { await passkeys.rebind(userOwner(userId), identity) })
    const parts = { fastify: app, emit, cookies, steps: codeSteps(otpInput), identities, tokens, captcha, linkIdentifier, rebindPasskeys, config: codeConfig }
    identifierRoutes({ ...parts, ...pick(settings, 'codeLength', 'codeSecret', 'identifierKinds', 'endSessionsOnIdentifierChange') })
  }
  if (tokens.sessions) {
    sessionRoutes({ fastify: app, emit, cookies, tokens, verifyToken, config: { refresh: routeLimit(limit && limit.refresh), account: routeLimit(limit && limit.account) } })
  }
  if (totp) totpRoutes({ ...signInGroup, totp, config: { verify: routeLimit(limit && limit.verify), account: routeLimit(limit && limit.account) } })
  if (passkeys) passkeyRoutes({ fastify: app, emit, cookies, passkeys, devices, signIn, config: { verify: routeLimit(limit && limit.verify), account: routeLimit(limit && limit.account) } })
}

function pick<T, K extends keyof T> (from: T, ...keys: K[]): Pick<T, K> {
  const picked = {} as Pick<T, K>
  for (const key of keys) picked[key] = from[key]
  return picked
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

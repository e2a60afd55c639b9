import { generateCode, hashCode } from '../codes.js'
import {
  AttemptsExceededError, DeliveryFailedError, InvalidCodeError, InvalidPhoneError, LockedError, ResendTooSoonError,
  withRetryAfter
} from '../errors.js'
import { normalizePhone } from '../identity.js'
import { reachStore } from '../store/reach.js'
import { routeLimit, type RouteContext } from './context.js'
import { loginSchema, verifySchema } from './schemas.js'

interface LoginBody { phone: string }
interface VerifyBody { phone: string, otp: string }

/** `POST /login` and `POST /verify-otp`. */
export function otpRoutes ({ fastify, settings, store, tokens }: RouteContext): void {
  const phonePolicy = { defaultCountry: settings.defaultCountry, allowedCountries: settings.allowedCountries }
  const readPhone = (input: string): string => {
    const phone = normalizePhone(input, phonePolicy)
    if (phone === undefined) throw new InvalidPhoneError()
    return phone
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
    return await tokens.issue(reply, { ...extraClaims(user), sub: String(user.id), phone })
  })
}

// Claims the plugin or the signer sets; a value of the same name from findOrCreateUser is dropped.
const reservedClaims = new Set(['id', 'sub', 'phone', 'email', 'iat', 'exp', 'nbf', 'jti', 'sid'])
function extraClaims (user: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(user).filter(([name]) => !reservedClaims.has(name)))
}

function describeFailure (err: unknown, code: string): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  return text.replaceAll(code, '[code]')
}

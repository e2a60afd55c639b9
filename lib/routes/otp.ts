import { codeHasher, generateCode } from '../codes.js'
import {
  AttemptsExceededError, DeliveryFailedError, InvalidCodeError, LockedError, ResendTooSoonError, SendBudgetExceededError,
  plainError, withRetryAfter
} from '../errors.js'
import { maskIdentifier } from '../events.js'
import { withDeadline } from '../senders/delivery.js'
import { reachStore } from '../store/reach.js'
import type { VerifyResult } from '../store/types.js'
import type { CodeSteps, CodeStepsInput, OtpRoutesInput, SentBody } from './context.js'
import { withOperationId } from './openapi.js'
import { presentedDeviceToken } from './sign-in.js'
import { loginSchema, verifySchema } from './schemas.js'

const hourMs = 3_600_000

export function codeSteps (input: CodeStepsInput): CodeSteps {
  const { store, emit, limits, captcha, testIdentities, smsBudget } = input
  const issuePolicy = {
    codeTtlMs: input.codeTtl * 1000,
    maxSends: input.maxSends,
    windowMs: limits.lockout * 1000,
    resendIntervalMs: input.resendInterval * 1000,
    maxSendsPerIdentifier: input.maxSendsPerIdentifier
  }
  const sent: SentBody = { message: 'OTP sent', expiresIn: input.codeTtl, resendIn: input.resendInterval }
  const smsLimit = (callingCode: string | undefined): number | undefined =>
    callingCode === undefined ? undefined : smsBudget?.get(callingCode) ?? smsBudget?.get('*')

  const send: CodeSteps['send'] = async (request, identity, hashFor, captchaToken, device) => {
    /**
     * Leaves no usable code behind. A send that surely went nowhere is given back (neither maxSends nor the
     * resend wait count it, so a provider outage locks nobody out); one that may have been delivered is not,
     * or a provider that times out would let anyone send codes to a number without limit.
     */
    const revoke = async (identifier: string, hash: string, giveSendBack: boolean): Promise<void> => {
      await store.revokeCode(identifier, hash, giveSendBack, device).catch((revokeErr: unknown) => {
        request.log.error({ err: plainError(revokeErr) }, 'fastify-otp-login: could not revoke an unsent code')
      })
    }

    // Before anything moves: a refused or unreachable captcha sends nothing and counts nothing. A trusted device
    // skips it only within the identifier's ceiling, which the store checks first: see below.
    const skipCaptcha = device !== undefined && captcha?.skipTrustedDevices === true
    if (captcha !== undefined && !skipCaptcha) await captcha.check(captchaToken, request)
    const about = { identifier: identity.value, channel: identity.channel }
    emit(request, { type: 'code-requested', ...about })
    const testCode = testIdentities.get(identity.value)
    const code = testCode ?? generateCode(input.codeLength)
    const codeHash = hashFor(code)

    const issued = await reachStore(() => store.issueCode(identity.value, codeHash, issuePolicy, device))
    if (issued.status === 'locked') {
      // At the ceiling a device token no longer stands in for the captcha (the refusal moved nothing).
      if (issued.reason === 'max-sends-per-identifier' && skipCaptcha) await captcha?.check(captchaToken, request)
      emit(request, { type: 'code-refused', reason: issued.reason ?? 'locked', ...about })
      throw withRetryAfter(new LockedError(), issued.retryAfterMs)
    }
    if (issued.status === 'too_soon') {
      emit(request, { type: 'code-refused', reason: 'resend-too-soon', ...about })
      throw withRetryAfter(new ResendTooSoonError(), issued.retryAfterMs)
    }
    // A test identity's code is fixed and never sent; everything else about it is a real code.
    if (testCode !== undefined) return sent

    const limit = identity.channel === 'sms' ? smsLimit(identity.callingCode) : undefined
    const budgetName = `sms:${identity.callingCode ?? ''}`
    if (limit !== undefined) {
      const budget = await reachStore(() => store.consumeBudget(budgetName, limit, hourMs)).catch((err: unknown) => {
        // A 503 sends nothing: the code goes, with its send and the resend wait (not awaited: the store is slow).
        // A count that the store makes after the deadline is given back by the store deadline (lib/store/deadline.ts).
        revoke(identity.value, codeHash, true).catch(() => {}) // revoke logs its own failure
        throw err
      })
      if (budget.status === 'exceeded') {
        emit(request, { type: 'code-refused', reason: 'send-budget', ...about })
        request.log.warn({ callingCode: identity.callingCode, limit }, 'fastify-otp-login: OTP_SEND_BUDGET_EXCEEDED: SMS budget for this country calling code is used up for this hour')
        await revoke(identity.value, codeHash, true)
        throw withRetryAfter(new SendBudgetExceededError(), budget.retryAfterMs)
      }
    }

    try {
      // Past sendTimeout the outcome is unknown (the send may still deliver): withDeadline says so.
      await withDeadline('send', input.sendTimeout, input.send({ channel: identity.channel, to: identity.value, code, expiresIn: input.codeTtl, request }))
    } catch (err) {
      // A provider may echo the message back in its error: the log gets the reason, never the code.
      const maybeDelivered = (err as { outcome?: unknown } | null)?.outcome === 'unknown'
      const reason = describeFailure(err, code, identity.value) + (maybeDelivered ? ' (may have been delivered: counted as a send)' : '')
      request.log.error({ reason }, 'fastify-otp-login: OTP_DELIVERY_FAILED')
      emit(request, { type: 'delivery-failed', reason, ...about })
      await revoke(identity.value, codeHash, !maybeDelivered)
      // The budget counts what may have reached a phone, as maxSends does: a send that surely went nowhere goes back.
      if (limit !== undefined && !maybeDelivered) {
        await store.refundBudget(budgetName).catch((refundErr: unknown) => {
          request.log.error({ err: plainError(refundErr) }, 'fastify-otp-login: could not give an unsent code back to smsBudget')
        })
      }
      throw new DeliveryFailedError()
    }
    emit(request, { type: 'code-sent', ...about })
    return sent
  }

  const check: CodeSteps['check'] = async (request, identity, codeHash, { device, confirm, deferReset }) => {
    const verifyPolicy = {
      maxAttempts: limits.maxAttempts,
      maxFailures: limits.maxFailures,
      lockoutMs: limits.lockout * 1000,
      deferReset
    }
    let result: VerifyResult
    try {
      result = await reachStore(() => store.verifyCode(identity.value, codeHash, verifyPolicy, device))
    } catch (err) {
      confirm?.()
      throw err
    }
    if (result.status !== 'ok') confirm?.()

    const about = { identifier: identity.value, channel: identity.channel, factor: 'otp' as const }
    if (result.status === 'locked') {
      emit(request, result.lockedNow === true
        ? { type: 'locked-out', reason: 'max-failures', ...about }
        : { type: 'verify-failed', reason: 'locked', ...about })
      throw withRetryAfter(new LockedError(), result.retryAfterMs)
    }
    if (result.status === 'burned') {
      emit(request, { type: 'verify-failed', reason: 'attempts-exceeded', ...about })
      throw new AttemptsExceededError()
    }
    if (result.status === 'invalid') {
      emit(request, { type: 'verify-failed', reason: 'invalid', ...about })
      throw new InvalidCodeError()
    }
  }

  return { send, check }
}

/** `POST /login` and `POST /verify-otp`, for phone numbers and (with `identifierKinds`) e-mail addresses. */
export function otpRoutes (input: OtpRoutesInput): void {
  const { fastify, devices, cookies, identities: { identify, identifyLater }, captcha } = input
  const { afterFirstFactor, secondFactor } = input.signIn
  // Cookie mode: the routes that read the device cookie refuse pages of other origins.
  const originCheck = cookies === undefined ? {} : { onRequest: cookies.checkOrigin }
  const hashCode = codeHasher(input.codeSecret)
  const steps = codeSteps(input)

  fastify.post('/login', {
    schema: withOperationId(loginSchema(input.identifierKinds, devices !== undefined, captcha !== undefined), fastify.prefix, 'login'),
    // A captcha token can be a few kilobytes.
    bodyLimit: captcha === undefined ? 1024 : 8192,
    ...originCheck,
    config: input.config.login
  }, async function login (request) {
    const identity = identify(request.body)
    // A trusted device asks on counters of its own: a lockout that others caused does not hold it back.
    const device = devices?.read(identity.value, presentedDeviceToken(cookies, request, request.body))
    return await steps.send(request, identity, (code) => hashCode(identity.value, code), request.body.captchaToken, device)
  })

  fastify.post('/verify-otp', {
    schema: withOperationId(verifySchema(input.identifierKinds, input.codeLength, devices !== undefined), fastify.prefix, 'verifyOtp'),
    bodyLimit: 1024,
    ...originCheck,
    config: input.config.verify
  }, async function verifyOtp (request, reply) {
    // The numbering-plan check waits: a code exists only for a number that passed it when the code was
    // issued, so a right code needs no second check. Any other answer, a store outage included, first makes
    // sure the number is valid (OTP_INVALID_PHONE otherwise, as before the store was asked).
    const { identity, confirm } = identifyLater(request.body)
    const device = devices?.read(identity.value, presentedDeviceToken(cookies, request, request.body))
    // With authenticators as a second factor, the counters are reset once the whole sign-in is done.
    await steps.check(request, identity, hashCode(identity.value, request.body.otp), { device, confirm, deferReset: secondFactor })
    return await afterFirstFactor(identity, identity.channel, request, reply, device)
  })
}

/**
 * The reason a send failed, for the log: the code never appears in it, the identifier only masked (also in
 * the form without `+` that SMS gateways echo).
 */
function describeFailure (err: unknown, code: string, identifier: string): string {
  let text: string
  try {
    text = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  } catch {
    text = 'a value that cannot be printed'
  }
  const masked = maskIdentifier(identifier)
  text = text.replaceAll(code, '[code]').replaceAll(identifier, masked)
  return identifier.startsWith('+') ? text.replaceAll(identifier.slice(1), masked.slice(1)) : text
}

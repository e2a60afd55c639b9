import type { FastifyReply, FastifyRequest } from 'fastify'
import {
  AttemptsExceededError, GuessPendingError, InvalidCodeError, LockedError, MfaTokenInvalidError, TotpNoIdentifierError, withRetryAfter
} from '../errors.js'
import { reachStore } from '../store/reach.js'
import type { TokenBody } from '../tokens.js'
import type { Proof } from '../totp/service.js'
import type { OtpUser } from '../types.js'
import type { TotpRoutesInput } from './context.js'
import { withOperationId } from './openapi.js'
import { presentedDeviceToken, readMfaToken, userOwner, type ChallengeData, type IdentityBody } from './sign-in.js'
import {
  confirmSchema, disableSchema, mfaRecoverySchema, recoveryCodesSchema, mfaTotpSchema, setupSchema, verifyRecoverySchema, verifyTotpSchema
} from './totp-schemas.js'

interface SecondStep { mfaToken?: string, deviceToken?: string }
interface AlternativeStep extends IdentityBody { deviceToken?: string }

/** The identifier a token's owner logged in with, for alternative mode, where an authenticator is bound to it. */
function boundIdentifier (user: OtpUser): string {
  const identifier = user.phone ?? user.email
  if (typeof identifier !== 'string' || identifier === '') throw new TotpNoIdentifierError()
  return identifier
}

/**
 * Authenticator apps: `POST /totp/setup`, `POST /totp/confirm`, `POST /totp/recovery-codes` and `DELETE /totp` for a freshly signed-in user,
 * and `POST /verify-totp` and `POST /verify-recovery`: the second step of a sign-in (second-factor mode, the
 * default) or another way to log in (alternative mode). Every guess is counted before it is checked, under the
 * failure count and lockout of /verify-otp.
 */
export function totpRoutes ({ fastify, totp, store, emit, devices, cookies, identities, signIn, identifierKinds, limits, config }: TotpRoutesInput): void {
  const { identify } = identities
  const { userClaims, finish, secondFactor } = signIn
  const verifyPolicy = { maxAttempts: limits.maxAttempts, maxFailures: limits.maxFailures, lockoutMs: limits.lockout * 1000 }
  const options = {
    bodyLimit: 1024,
    config: config.verify,
    ...(cookies === undefined ? {} : { onRequest: cookies.checkOrigin })
  }
  const account = {
    bodyLimit: 1024,
    config: config.account,
    // Enrolling or removing an authenticator changes what a sign-in is worth: a stolen older token must not.
    // preParsing, not onRequest: the per-IP limit (an onRequest hook) runs first and counts forged tokens too.
    preParsing: fastify.requireFreshAuth()
  }

  // Whose authenticator a signed-in user manages: their user id's, or in alternative mode their identifier's.
  const ownerOf = (user: OtpUser): string => secondFactor ? userOwner(user.sub) : boundIdentifier(user)
  const accountName = (user: OtpUser): string => (secondFactor ? user.phone ?? user.email ?? user.sub : boundIdentifier(user))

  fastify.post('/totp/setup', { ...account, schema: withOperationId(setupSchema, fastify.prefix, 'totpSetup') }, async function totpSetup (request) {
    return await totp.setup(ownerOf(request.user), accountName(request.user))
  })

  fastify.post('/totp/confirm', { ...account, schema: withOperationId(confirmSchema, fastify.prefix, 'totpConfirm') }, async function totpConfirm (request) {
    const recoveryCodes = await totp.confirm(ownerOf(request.user), request.body.otp)
    emit(request, { type: 'totp-enabled', identifier: request.user.phone ?? request.user.email, userId: request.user.sub })
    return { recoveryCodes }
  })

  fastify.post('/totp/recovery-codes', { ...account, schema: withOperationId(recoveryCodesSchema, fastify.prefix, 'totpRecoveryCodes') }, async function totpRecoveryCodes (request) {
    const recoveryCodes = await totp.regenerateRecoveryCodes(ownerOf(request.user))
    emit(request, { type: 'recovery-codes-regenerated', identifier: request.user.phone ?? request.user.email, userId: request.user.sub })
    return { recoveryCodes }
  })

  fastify.delete('/totp', { ...account, schema: withOperationId(disableSchema, fastify.prefix, 'totpDisable') }, async function totpDisable (request, reply) {
    await totp.disable(ownerOf(request.user))
    emit(request, { type: 'totp-disabled', identifier: request.user.phone ?? request.user.email, userId: request.user.sub })
    return reply.code(204).send()
  })

  /** A guess refused unchecked while earlier ones are still being checked: nothing is locked, try again in a second. */
  function guessPending (request: FastifyRequest, about: { identifier: string, factor: 'totp' | 'recovery' }): Error {
    emit(request, { type: 'verify-failed', reason: 'guess-pending', ...about })
    return withRetryAfter(new GuessPendingError(), 1000)
  }

  /**
   * The second step: a guess at the authenticator (or a recovery code) of the user a second-factor token names.
   * The guess is reserved on the token's attempts and the identifier's (or trusted device's) failures before it is
   * checked; a right code whose time step was already used is given back, not counted.
   */
  async function secondStep (
    method: 'totp' | 'recovery', body: SecondStep, request: FastifyRequest, reply: FastifyReply, prove: (owner: string) => Promise<Proof>
  ): Promise<TokenBody> {
    const challenge = readMfaToken(body.mfaToken)
    if (challenge === undefined) throw new MfaTokenInvalidError()
    const { identifier, challengeId } = challenge
    const device = devices?.read(identifier, presentedDeviceToken(cookies, request, body))
    const about = { identifier, factor: method }
    const reserved = await reachStore(() => store.reserveChallenge(identifier, challengeId, verifyPolicy, device))
    if (reserved.status === 'invalid') throw new MfaTokenInvalidError()
    if (reserved.status === 'burned') {
      emit(request, { type: 'verify-failed', reason: 'attempts-exceeded', ...about })
      throw new AttemptsExceededError()
    }
    if (reserved.status === 'locked') {
      emit(request, { type: 'verify-failed', reason: 'locked', ...about })
      throw withRetryAfter(new LockedError(), reserved.retryAfterMs)
    }
    if (reserved.status === 'busy') throw guessPending(request, about)
    const data = JSON.parse(reserved.data) as ChallengeData
    const proof = await prove(userOwner(data.claims.sub))
    if (proof === 'right') {
      // Parallel right answers: one spends the challenge, the others find it gone.
      if (!await reachStore(() => store.consumeChallenge(identifier, challengeId, device))) throw new MfaTokenInvalidError()
      return await finish(data.identity, data.claims, [...data.amr, method], request, reply, device)
    }
    if (proof === 'replay') {
      await reachStore(() => store.refundChallenge(identifier, challengeId, device))
      emit(request, { type: 'verify-failed', reason: 'invalid', ...about })
      throw new InvalidCodeError()
    }
    if (reserved.last) {
      await reachStore(() => store.lockOut(identifier, verifyPolicy.lockoutMs, device))
      emit(request, { type: 'locked-out', reason: 'max-failures', ...about })
      throw withRetryAfter(new LockedError(), verifyPolicy.lockoutMs)
    }
    if (reserved.attempts >= verifyPolicy.maxAttempts) {
      emit(request, { type: 'verify-failed', reason: 'attempts-exceeded', ...about })
      throw new AttemptsExceededError()
    }
    emit(request, { type: 'verify-failed', reason: 'invalid', ...about })
    throw new InvalidCodeError()
  }

  /**
   * Alternative mode: an authenticator (or recovery) code logs in on its own. Every refused code counts as a
   * failure, whether or not an authenticator is on, so the answers never tell which.
   */
  async function alternativeLogIn (
    method: 'totp' | 'recovery', body: AlternativeStep, request: FastifyRequest, reply: FastifyReply, prove: (owner: string) => Promise<Proof>
  ): Promise<TokenBody> {
    const identity = identify(body)
    const device = devices?.read(identity.value, presentedDeviceToken(cookies, request, body))
    const about = { identifier: identity.value, factor: method }
    const guess = await reachStore(() => store.reserveGuess(identity.value, verifyPolicy, device))
    if (guess.status === 'locked') {
      emit(request, { type: 'verify-failed', reason: 'locked', ...about })
      throw withRetryAfter(new LockedError(), guess.retryAfterMs)
    }
    if (guess.status === 'busy') throw guessPending(request, about)
    const proof = await prove(identity.value)
    if (proof === 'right') {
      await reachStore(() => store.clearFailures(identity.value, device))
      return await finish(identity, await userClaims(identity, request), [method], request, reply, device)
    }
    if (proof === 'replay') {
      await reachStore(() => store.refundGuess(identity.value, device))
    } else if (guess.last) {
      await reachStore(() => store.lockOut(identity.value, verifyPolicy.lockoutMs, device))
      emit(request, { type: 'locked-out', reason: 'max-failures', ...about })
      throw withRetryAfter(new LockedError(), verifyPolicy.lockoutMs)
    }
    emit(request, { type: 'verify-failed', reason: 'invalid', ...about })
    throw new InvalidCodeError()
  }

  const withDevices = devices !== undefined
  // Second-factor mode and alternative mode take different bodies: one route each, typed from its schema.
  if (secondFactor) {
    fastify.post('/verify-totp', { ...options, schema: withOperationId(mfaTotpSchema(withDevices), fastify.prefix, 'verifyTotp') },
      async function verifyTotp (request, reply) {
        const { otp } = request.body
        return await secondStep('totp', request.body, request, reply, async (owner) => await totp.useCode(owner, otp))
      })
    fastify.post('/verify-recovery', { ...options, schema: withOperationId(mfaRecoverySchema(withDevices), fastify.prefix, 'verifyRecovery') },
      async function verifyRecovery (request, reply) {
        const { code } = request.body
        return await secondStep('recovery', request.body, request, reply, async (owner) => await totp.useRecoveryCode(owner, code))
      })
  } else {
    fastify.post('/verify-totp', { ...options, schema: withOperationId(verifyTotpSchema(identifierKinds, withDevices), fastify.prefix, 'verifyTotp') },
      async function verifyTotp (request, reply) {
        const { otp } = request.body
        return await alternativeLogIn('totp', request.body, request, reply, async (owner) => await totp.useCode(owner, otp))
      })
    fastify.post('/verify-recovery', { ...options, schema: withOperationId(verifyRecoverySchema(identifierKinds, withDevices), fastify.prefix, 'verifyRecovery') },
      async function verifyRecovery (request, reply) {
        const { code } = request.body
        return await alternativeLogIn('recovery', request.body, request, reply, async (owner) => await totp.useRecoveryCode(owner, code))
      })
  }
}

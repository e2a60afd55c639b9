import type { FastifyReply, FastifyRequest } from 'fastify'
import { InvalidCodeError, LockedError, TotpNoIdentifierError, withRetryAfter } from '../errors.js'
import type { Identity } from '../identity.js'
import { reachStore } from '../store/reach.js'
import type { TokenBody } from '../tokens.js'
import type { TotpService } from '../totp/service.js'
import type { OtpUser } from '../types.js'
import { routeLimit, type RouteContext } from './context.js'
import { withOperationId } from './openapi.js'
import { identityReader, signIn, type IdentityBody } from './sign-in.js'
import { confirmSchema, disableSchema, setupSchema, verifyRecoverySchema, verifyTotpSchema } from './totp-schemas.js'

interface OtpBody { otp: string }
interface RecoveryBody extends IdentityBody { code: string }

/** The identifier an authenticator is bound to: the one the token's owner logged in with. */
function boundIdentifier (user: OtpUser): string {
  const identifier = user.phone ?? user.email
  if (typeof identifier !== 'string' || identifier === '') throw new TotpNoIdentifierError()
  return identifier
}

/**
 * Authenticator apps: `POST /totp/setup`, `POST /totp/confirm` and `DELETE /totp` for a logged-in user, and
 * `POST /verify-totp` and `POST /verify-recovery` to log in, under the failure count and lockout of /verify-otp.
 */
export function totpRoutes ({ fastify, settings, store, tokens, emit }: RouteContext, totp: TotpService): void {
  const { identify } = identityReader(settings)
  const failurePolicy = { maxFailures: settings.maxFailures, lockoutMs: settings.lockout * 1000 }
  const limit = routeLimit(settings.rateLimit && settings.rateLimit.verify)
  const options = { bodyLimit: 1024, config: limit }
  const authenticated = { ...options, onRequest: [fastify.authenticate] }

  /**
   * Tokens if `proof` holds. A locked identifier is refused even with a right code; every refused code counts
   * as a failure, whether or not an authenticator is on, so the answers never tell which.
   */
  async function logIn (
    method: 'totp' | 'recovery', identity: Identity, request: FastifyRequest, reply: FastifyReply, proof: () => Promise<boolean>
  ): Promise<TokenBody> {
    const about = { identifier: identity.value, method }
    // Counted before it is checked, in the step that checks the lock: parallel guesses cannot outrun the count.
    const guess = await reachStore(() => store.reserveGuess(identity.value, failurePolicy))
    if (guess.status === 'locked') {
      emit(request, { type: 'verify-failed', reason: 'locked', ...about })
      throw withRetryAfter(new LockedError(), guess.retryAfterMs)
    }
    if (!await proof()) {
      if (guess.last) {
        await reachStore(() => store.lockOut(identity.value, failurePolicy.lockoutMs))
        emit(request, { type: 'locked-out', reason: 'max-failures', ...about })
        throw withRetryAfter(new LockedError(), failurePolicy.lockoutMs)
      }
      emit(request, { type: 'verify-failed', reason: 'invalid', ...about })
      throw new InvalidCodeError()
    }
    await reachStore(() => store.clearFailures(identity.value))
    const { body, userId } = await signIn(settings, tokens, identity, request, reply)
    emit(request, { type: 'verified', userId, ...about })
    return body
  }

  fastify.post('/totp/setup', { ...authenticated, schema: withOperationId(setupSchema, fastify.prefix, 'totpSetup') }, async function totpSetup (request) {
    return await totp.setup(boundIdentifier(request.user))
  })

  fastify.post<{ Body: OtpBody }>('/totp/confirm', { ...authenticated, schema: withOperationId(confirmSchema, fastify.prefix, 'totpConfirm') }, async function totpConfirm (request) {
    const identifier = boundIdentifier(request.user)
    const recoveryCodes = await totp.confirm(identifier, request.body.otp)
    emit(request, { type: 'totp-enabled', identifier, userId: request.user.sub })
    return { recoveryCodes }
  })

  fastify.delete('/totp', { ...authenticated, schema: withOperationId(disableSchema, fastify.prefix, 'totpDisable') }, async function totpDisable (request, reply) {
    const identifier = boundIdentifier(request.user)
    await totp.disable(identifier)
    emit(request, { type: 'totp-disabled', identifier, userId: request.user.sub })
    return reply.code(204).send()
  })

  fastify.post<{ Body: IdentityBody & OtpBody }>('/verify-totp', {
    ...options, schema: withOperationId(verifyTotpSchema(settings.channels), fastify.prefix, 'verifyTotp')
  }, async function verifyTotp (request, reply) {
    const identity = identify(request.body)
    return await logIn('totp', identity, request, reply, async () => await totp.useCode(identity.value, request.body.otp))
  })

  fastify.post<{ Body: RecoveryBody }>('/verify-recovery', {
    ...options, schema: withOperationId(verifyRecoverySchema(settings.channels), fastify.prefix, 'verifyRecovery')
  }, async function verifyRecovery (request, reply) {
    const identity = identify(request.body)
    return await logIn('recovery', identity, request, reply, async () => await totp.useRecoveryCode(identity.value, request.body.code))
  })
}

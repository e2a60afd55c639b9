import { createHmac, createSecretKey } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { OtpUser } from '../types.js'
import { TokenRevokedError } from '../tokens.js'
import type { IdentifierRoutesInput } from './context.js'
import { addIdentifierSchema, verifyIdentifierSchema } from './identifiers-schemas.js'
import { withOperationId } from './openapi.js'

/**
 * What a code sent to add `identifier` to the account of `userId` is stored as. Under a key of its own (derived
 * from `codeSecret`), so no sign-in code ever hashes alike: a code sent by /identifiers never signs in at
 * /verify-otp, and a /login code never links. Bound to the user, so one user's code never links for another;
 * and to the identifier, as every code is. The store keeps it where a sign-in code would be (the identifier's
 * send and failure counters are the same), so no new store state.
 */
export function linkCodeHasher (codeSecret: string): (userId: string, identifier: string, code: string) => string {
  const key = createSecretKey(createHmac('sha256', codeSecret).update('fastify-otp-login identifier link').digest())
  // The user id's length first: no two (userId, identifier) pairs give the same text.
  return (userId, identifier, code) => createHmac('sha256', key).update(`${userId.length}:${userId}\n${identifier}:${code}`).digest('base64url')
}

/**
 * `POST /identifiers` and `POST /identifiers/verify`: a signed-in user adds a phone number or e-mail address.
 * The code is sent and guessed through /login's and /verify-otp's steps, so captcha, send limits, send budget and
 * guess limits are those of the new identifier, shared with its sign-ins. The host's `linkIdentifier` is asked
 * only after a right code: before it, no answer tells whether the identifier is someone else's.
 */
export function identifierRoutes (input: IdentifierRoutesInput): void {
  const { fastify, emit, steps, identities: { identify }, tokens, linkIdentifier, config } = input
  const hashFor = linkCodeHasher(input.codeSecret)

  fastify.post('/identifiers', {
    schema: withOperationId(addIdentifierSchema(input.identifierKinds, input.captcha), fastify.prefix, 'addIdentifier'),
    // A captcha token can be a few kilobytes.
    bodyLimit: input.captcha ? 8192 : 1024,
    config: config.login,
    // What a user signs in with is an account change: a stolen older token must not add one.
    // preParsing, not onRequest: the per-IP limit (an onRequest hook) runs first and counts forged tokens too.
    preParsing: fastify.requireFreshAuth()
  }, async function addIdentifier (request) {
    const identity = identify(request.body)
    const userId = request.user.sub
    // No device token: a device is trusted for the identifiers it signed in with, not for this one.
    return await steps.send(request, identity, (code) => hashFor(userId, identity.value, code), request.body.captchaToken, undefined)
  })

  fastify.post('/identifiers/verify', {
    schema: withOperationId(verifyIdentifierSchema(input.identifierKinds, input.codeLength), fastify.prefix, 'verifyIdentifier'),
    bodyLimit: 1024,
    config: config.verify,
    preParsing: fastify.authenticate
  }, async function verifyIdentifier (request) {
    const identity = identify(request.body)
    const user: OtpUser = request.user
    const userId = user.sub
    // A wrong code counts on the identifier's failures as a wrong sign-in code does; a right one resets its counters.
    await steps.check(request, identity, hashFor(userId, identity.value, request.body.otp), { deferReset: false })
    // A coded 409 (IdentifierTakenError) passes through as it is; the code is spent either way.
    await linkIdentifier({ userId, identifier: identity.value, kind: identity.kind, request })
    emit(request, { type: 'identifier-added', identifier: identity.value, channel: identity.channel, userId })
    // The user's passkeys sign in as the identifier just proved (a passkey sign-in asks findOrCreateUser with it).
    if (input.rebindPasskeys !== undefined) await input.rebindPasskeys(userId, { kind: identity.kind, value: identity.value })
    await endSessions(request, user)
    return { identifier: identity.value }
  })

  /** Ends the sessions `endSessionsOnIdentifierChange` names; a store error is a 503 (the link stays made). */
  async function endSessions (request: FastifyRequest, user: OtpUser): Promise<void> {
    const scope = input.endSessionsOnIdentifierChange
    if (scope === 'none' || !tokens.sessions) return
    let ended: string[]
    if (scope === 'all') {
      ended = await tokens.revokeAll(user.sub)
    } else {
      try {
        ended = await tokens.logout(user, 'others')
      } catch (err) {
        // This session ended meanwhile (a logout in another tab): then none is kept.
        if (!(err instanceof TokenRevokedError)) throw err
        ended = await tokens.revokeAll(user.sub)
      }
    }
    for (const sessionId of ended) emit(request, { type: 'session-ended', reason: 'identifier-changed', sessionId, userId: user.sub })
  }
}

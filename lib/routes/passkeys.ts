import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server'
import type { FastifyRequest } from 'fastify'
import { PasskeyInvalidError, TotpNoIdentifierError } from '../errors.js'
import type { Identity } from '../identity.js'
import type { PasskeyIdentity, PasskeyRecord } from '../store/credentials/types.js'
import type { OtpUser } from '../types.js'
import type { PasskeyRoutesInput } from './context.js'
import { withOperationId } from './openapi.js'
import { listSchema, loginOptionsSchema, loginSchema, registerOptionsSchema, registerSchema, removeSchema, renameSchema } from './passkeys-schemas.js'
import { presentedDeviceToken, userOwner } from './sign-in.js'

/** The identifier a passkey is added under: the one the token's owner signed in with. */
function tokenIdentity (user: OtpUser): PasskeyIdentity {
  if (typeof user.phone === 'string' && user.phone !== '') return { kind: 'phone', value: user.phone }
  if (typeof user.email === 'string' && user.email !== '') return { kind: 'email', value: user.email }
  throw new TotpNoIdentifierError()
}

const asIdentity = ({ kind, value }: PasskeyIdentity): Identity => ({ kind, value, channel: kind === 'phone' ? 'sms' : 'email' })
const iso = (ms: number): string => new Date(ms).toISOString()
const userIdOf = (owner: string): string | undefined => owner.startsWith('user:') ? owner.slice('user:'.length) : undefined

/**
 * Passkeys (WebAuthn): adding one (`/passkeys/register/options`, `/passkeys/register`) and managing them
 * (`GET /passkeys`, `PATCH` and `DELETE /passkeys/:id`) for a signed-in user, and a discoverable sign-in
 * (`/passkeys/login/options`, `/passkeys/login`) that answers what /verify-otp does. Every refused sign-in gets the
 * same `401 OTP_PASSKEY_INVALID`.
 */
export function passkeyRoutes ({ fastify, passkeys, emit, cookies, devices, signIn, config }: PasskeyRoutesInput): void {
  const { userClaims, finish } = signIn
  // preParsing, not onRequest: the per-IP limit (an onRequest hook) runs first and counts forged tokens too.
  const fresh = { bodyLimit: 1024, config: config.account, preParsing: fastify.requireFreshAuth() }
  const signedIn = { bodyLimit: 1024, config: config.account, preParsing: fastify.authenticate }
  const originCheck = cookies === undefined ? {} : { onRequest: cookies.checkOrigin }
  const about = (request: FastifyRequest): { identifier?: string, userId: string } =>
    ({ identifier: request.user.phone ?? request.user.email, userId: request.user.sub })

  fastify.post('/passkeys/register/options', { ...fresh, schema: withOperationId(registerOptionsSchema, fastify.prefix, 'passkeyRegisterOptions') },
    async function passkeyRegisterOptions (request) {
      return { ...await passkeys.registrationOptions(userOwner(request.user.sub), tokenIdentity(request.user).value) }
    })

  fastify.post('/passkeys/register', { ...fresh, bodyLimit: 32_768, schema: withOperationId(registerSchema, fastify.prefix, 'passkeyRegister') },
    async function passkeyRegister (request) {
      const identity = tokenIdentity(request.user)
      const { response, name = 'Passkey' } = request.body
      const passkey = await passkeys.register(userOwner(request.user.sub), identity, response as RegistrationResponseJSON, name)
      emit(request, { type: 'passkey-added', passkeyId: passkey.id, ...about(request) })
      return { id: passkey.id, name: passkey.name, createdAt: iso(passkey.createdAt) }
    })

  fastify.get('/passkeys', { ...signedIn, schema: withOperationId(listSchema, fastify.prefix, 'listPasskeys') }, async function listPasskeys (request) {
    const list = await passkeys.list(userOwner(request.user.sub))
    return { passkeys: list.map(describe) }
  })

  fastify.patch('/passkeys/:id', { ...fresh, schema: withOperationId(renameSchema, fastify.prefix, 'renamePasskey') }, async function renamePasskey (request) {
    await passkeys.rename(userOwner(request.user.sub), request.params.id, request.body.name)
    return { id: request.params.id, name: request.body.name }
  })

  fastify.delete('/passkeys/:id', { ...fresh, schema: withOperationId(removeSchema, fastify.prefix, 'removePasskey') }, async function removePasskey (request, reply) {
    const removed = await passkeys.remove(userOwner(request.user.sub), request.params.id)
    emit(request, { type: 'passkey-removed', passkeyId: removed.id, ...about(request) })
    return reply.code(204).send()
  })

  fastify.post('/passkeys/login/options', { bodyLimit: 1024, config: config.verify, schema: withOperationId(loginOptionsSchema, fastify.prefix, 'passkeyLoginOptions') },
    async function passkeyLoginOptions () {
      return { ...await passkeys.loginOptions() }
    })

  fastify.post('/passkeys/login', { bodyLimit: 8192, config: config.verify, ...originCheck, schema: withOperationId(loginSchema(devices !== undefined), fastify.prefix, 'passkeyLogin') },
    async function passkeyLogin (request, reply) {
      const refuse = (passkey?: PasskeyRecord): Error => {
        emit(request, { type: 'verify-failed', reason: 'invalid', factor: 'passkey', ...(passkey === undefined ? {} : { identifier: passkey.identity.value, passkeyId: passkey.id }) })
        return new PasskeyInvalidError()
      }
      const result = await passkeys.signIn(request.body.response as AuthenticationResponseJSON)
      if (result.status === 'refused') throw refuse()
      if (result.status === 'cloned') {
        emit(request, { type: 'passkey-cloned', identifier: result.passkey.identity.value, userId: userIdOf(result.owner), passkeyId: result.passkey.id })
        throw refuse(result.passkey)
      }
      const identity = asIdentity(result.passkey.identity)
      const claims = await userClaims(identity, request)
      // The identifier now names another user (findOrCreateUser says so): the passkey is not theirs.
      if (userOwner(claims.sub) !== result.owner) throw refuse(result.passkey)
      const device = devices?.read(identity.value, presentedDeviceToken(cookies, request, request.body))
      return await finish(identity, claims, [result.backedUp ? 'synced-passkey' : 'passkey'], request, reply, device)
    })
}

/** A passkey as `GET /passkeys` shows it: never its public key or identity. */
function describe (passkey: PasskeyRecord): { id: string, name: string, createdAt: string, lastUsedAt: string | null, backedUp: boolean } {
  return { id: passkey.id, name: passkey.name, createdAt: iso(passkey.createdAt), lastUsedAt: passkey.lastUsedAt === null ? null : iso(passkey.lastUsedAt), backedUp: passkey.backedUp }
}

import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { captchaCheck } from './captcha.js'
import { DeviceTokens } from './devices.js'
import { FreshAuthRequiredError } from './errors.js'
import { eventEmitter, hostEventEmitter } from './events.js'
import { checkOptions, ensureDefaults, type OtpLoginOptions, type ResolvedOptions } from './options.js'
import { routes } from './routes/index.js'
import { otpStoreWithDeadline } from './store/deadline.js'
import { MemoryStore } from './store/memory.js'
import { RedisStore } from './store/redis.js'
import type { OtpStore } from './store/types.js'
import { LiveSessionCache, invalidationChannel } from './fast-paths/session-cache.js'
import { TokenIssuer, type SessionCaching } from './tokens.js'
import { createPasskeys } from './passkeys/create.js'
import { createCredentials } from './totp/create.js'
import { hostCredentials } from './credentials.js'
import './types.js'
import { accessTokenVerifier, ownJwtOptions } from './verify-token.js'

async function otpLogin (fastify: FastifyInstance, opts: OtpLoginOptions): Promise<void> {
  checkOptions(opts)
  const values = ensureDefaults(opts)
  const { captcha } = values
  const settings: ResolvedOptions = { ...values, captcha: captcha && { check: captchaCheck(captcha.options), skipTrustedDevices: captcha.skipTrustedDevices } }

  let signOptions: { sign: { expiresIn: string } } | undefined
  if (!fastify.hasDecorator('jwt')) {
    if (!settings.jwt?.secret) {
      throw new Error('fastify-otp-login: option "jwt.secret" is required unless @fastify/jwt is registered before this plugin')
    }
    // An HMAC key short enough to guess lets anyone who holds one token crack it offline and forge others.
    if (typeof settings.jwt.secret === 'string' && settings.jwt.secret.length < 32) {
      throw new Error(`fastify-otp-login: option "jwt.secret" must be at least 32 characters (got ${settings.jwt.secret.length})`)
    }
    await fastify.register(fastifyJwt, ownJwtOptions(settings.jwt, `${settings.accessTokenTtl}s`))
  } else {
    // The host's @fastify/jwt signs; only the lifetime is ours.
    signOptions = { sign: { expiresIn: `${settings.accessTokenTtl}s` } }
  }
  // The plugin's own registration has a fixed key: its signer (built once, at registration) signs directly.
  // (A `secret: { private, public }` object counts as fixed: @fastify/jwt signs with the signer it built from it.)
  const ownSigner = signOptions === undefined && typeof settings.jwt?.secret !== 'function'
  const signAccessToken = async (reply: FastifyReply, claims: Record<string, unknown>): Promise<string> => {
    if (signOptions) return await reply.jwtSign(claims, signOptions)
    if (ownSigner) return fastify.jwt.sign(claims)
    // The callback form signs with the signer @fastify/jwt built at registration; its promise form passes `{}`
    // on as options and so builds a new fast-jwt signer (key preparation included) for every token.
    return await new Promise((resolve, reject) => {
      reply.jwtSign(claims, (err, token) => { if (err) reject(err); else resolve(token) })
    })
  }

  // First, before anything that holds a connection or a timer: its init may refuse this Redis and fail ready().
  const credentials = await createCredentials(settings, fastify.log)

  // With the plugin's own RedisStore: app.authenticate trusts a session seen live moments ago, as long as the
  // channel on which the session scripts announce ended sessions (to every instance) is subscribed.
  const cachedSessions = settings.sessionCache !== false && settings.redis !== undefined && settings.store === undefined &&
    settings.refreshTokenTtl !== false
  const endedChannel = `${settings.keyPrefix}sessions:ended`
  let store: OtpStore
  if (settings.store) {
    store = settings.store
  } else if (settings.redis) {
    store = new RedisStore({ client: settings.redis, keyPrefix: settings.keyPrefix, endedChannel: cachedSessions ? endedChannel : '' })
  } else {
    if (process.env.NODE_ENV === 'production') {
      fastify.log.warn('fastify-otp-login: no "redis" or "store" given, so codes live in this process (MemoryStore): they are lost on restart and not shared between instances')
    }
    const memory = new MemoryStore()
    fastify.addHook('onClose', async () => { await memory.close() })
    store = memory
  }
  store = otpStoreWithDeadline(store, settings.storeTimeout, fastify.log)
  // Before the invalidation channel opens: a credential store without passkeys fails registration here.
  const passkeys = createPasskeys(settings.passkeys, credentials, store, settings.codeSecret)

  let caching: SessionCaching | undefined
  if (cachedSessions && settings.sessionCache && settings.redis) {
    const cache = new LiveSessionCache(settings.sessionCache)
    const channel = invalidationChannel(settings.redis, endedChannel, cache, fastify.log)
    fastify.addHook('onClose', async () => { await channel.close() })
    caching = { cache, channel }
  }
  const tokens = new TokenIssuer(settings, store, signAccessToken, caching)
  const verifyToken = accessTokenVerifier(fastify.jwt, signOptions === undefined ? settings.jwt : undefined)
  async function authenticate (request: FastifyRequest): Promise<void> {
    await verifyToken(request)
    await tokens.assertLive(request.user)
  }
  fastify.decorate('authenticate', authenticate)
  fastify.decorate('requireFreshAuth', function requireFreshAuth (maxAge: number = settings.freshAuthAge) {
    if (!Number.isInteger(maxAge) || maxAge < 0) throw new Error('fastify-otp-login: requireFreshAuth(maxAge) takes a whole number of seconds')
    return async function freshAuth (request: FastifyRequest): Promise<void> {
      await authenticate(request)
      const authTime = request.user.auth_time
      if (typeof authTime !== 'number' || Math.floor(Date.now() / 1000) - authTime > maxAge) throw new FreshAuthRequiredError()
    }
  })
  // The host's own calls are reported too (an admin's revocation belongs in the audit log), as `by: 'host'`.
  const emitHost = hostEventEmitter(settings.onEvent, fastify.log)
  const revokedByHost = (userId: string, sessionId: string): void => {
    emitHost({ type: 'session-ended', reason: 'revoked', sessionId, userId })
  }
  fastify.decorate('otpSessions', {
    list: async (userId: string) => await tokens.list(userId),
    revoke: async (userId: string, sessionId: string) => {
      const ended = await tokens.revoke(userId, sessionId)
      if (ended) revokedByHost(userId, sessionId)
      return ended
    },
    revokeAll: async (userId: string) => {
      const ended = await tokens.revokeAll(userId)
      for (const sessionId of ended) revokedByHost(userId, sessionId)
      return ended.length
    }
  })

  const emit = eventEmitter(settings.onEvent, fastify.log)
  const totp = credentials?.totp
  fastify.decorate('otpCredentials', hostCredentials(credentials, settings.totp?.mode === 'alternative', emitHost))
  const devices = settings.trustedDevices === false ? undefined : new DeviceTokens(settings.codeSecret, settings.trustedDevices.ttl)
  // fastify-plugin skips Fastify's own prefixing, so the routes get the prefix here, in their own context.
  await fastify.register(routes, { prefix: settings.prefix, settings, store, tokens, emit, totp, devices, verifyToken, passkeys })
}

export const fastifyOtpLogin: FastifyPluginAsync<OtpLoginOptions> = fp(otpLogin, {
  fastify: '5.x',
  name: 'fastify-otp-login'
})
export default fastifyOtpLogin

export { MemoryStore, type MemoryStoreOptions } from './store/memory.js'
export { RedisStore, type RedisStoreOptions } from './store/redis.js'
export type {
  ChallengeResult, CodeStore, EndResult, EndScope, FailurePolicy, GuessResult, IssuePolicy, IssueResult, NewSession, OtpStore,
  RotateResult, SessionEnd, SessionInfo, SessionPolicy, SessionStore, VerifyPolicy, VerifyResult
} from './store/types.js'
export { MemoryCredentialStore, MemoryTotpStore, type MemoryCredentialStoreOptions, type MemoryTotpStoreOptions } from './store/credentials/memory.js'
export { RedisCredentialStore, RedisTotpStore, type RedisCredentialStoreOptions, type RedisTotpStoreOptions } from './store/credentials/redis.js'
export { CredentialDataLostError } from './store/credentials/redis-marker.js'
export { SqlCredentialStore, type SqlCredentialStoreDb, type SqlCredentialStoreOptions } from './store/credentials/sql.js'
export type { CredentialStore, CredentialStoreLog, PasskeyIdentity, PasskeyRecord, TotpRecord, TotpState, TotpStore } from './store/credentials/types.js'
export { consoleSender, type ConsoleSenderOptions } from './senders/console.js'
export {
  AttemptsExceededError, DeliveryFailedError, FreshAuthRequiredError, GuessPendingError, IdentifierTakenError, InternalError, InvalidCodeError,
  InvalidEmailError, InvalidPhoneError, LockedError, MfaTokenInvalidError, PasskeyExistsError, PasskeyInvalidError, PasskeyLimitError, PasskeyNotFoundError,
  PasskeyRegistrationInvalidError, RateLimitedError, RefreshInvalidError, RefreshReusedError,
  ResendTooSoonError, SendBudgetExceededError, SessionNotFoundError, StoreUnavailableError, StoreUnsupportedError, TotpAlreadyEnabledError,
  TotpNoIdentifierError, TotpNotEnabledError, TotpNotPendingError, type OtpError
} from './errors.js'
export { TokenRevokedError, type SessionView, type TokenBody } from './tokens.js'
export { TokenInvalidError } from './verify-token.js'
export type {
  Channel, FindOrCreateUser, FindOrCreateUserArgs, IdentifierKind, LinkIdentifier, LinkIdentifierArgs, OtpLoginOptions, OtpUserRecord, PasskeysOptions, RateLimitOptions, RouteRateLimit,
  SendArgs, SendFn, TotpMode, TrustedDevicesOptions
} from './options.js'
export type { OtpCredentials, OtpCredentialsView, OtpSessions, OtpUser, PasskeyView } from './types.js'
export type { TotpStatus } from './totp/service.js'
export { maskIdentifier, type OtpEvent, type OtpEventHandler, type OtpHostEvent, type OtpRequestEvent } from './events.js'
export { smtpSender, type SmtpSenderOptions } from './senders/smtp.js'
export { twilioSender, type TwilioSenderOptions } from './senders/twilio.js'
export { twoFactorSender, type TwoFactorSenderOptions } from './senders/two-factor.js'
export {
  verifyWebhookSignature, webhookSender, type WebhookPayload, type WebhookSenderOptions, type WebhookSignatureInput
} from './senders/webhook.js'
export { SendError } from './senders/delivery.js'
export { securitySchemeName, securitySchemes } from './routes/openapi.js'
export type { EmailMessage, EmailTemplate, MessageContext, MessageTemplates, SmsTemplate } from './senders/template.js'

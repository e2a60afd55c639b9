import type { FastifyReply, FastifyRequest } from 'fastify'
import type { DeviceTokens } from '../devices.js'
import { InvalidEmailError, InvalidPhoneError } from '../errors.js'
import type { Emit } from '../events.js'
import { looseE164, normalizeEmail, normalizePhone, parsePhone, type Identity } from '../identity.js'
import type { OtpUserRecord, ResolvedOptions } from '../options.js'
import { randomId } from '../fast-paths/random-pool.js'
import { reachStore } from '../store/reach.js'
import type { OtpStore } from '../store/types.js'
import { sha256, type TokenBody, type TokenIssuer } from '../tokens.js'
import { userOwner, type TotpService } from '../totp/service.js'
import type { CookieJar } from './cookies.js'

export interface IdentityBody { phone?: string, email?: string }

/**
 * How a route reads the identifier of a body that the schema lets through with exactly one of the enabled
 * fields: `identify` checks it fully (a phone number against its numbering plan); `identifyLater` defers the
 * numbering-plan check for a route that needs it only when the store has no code for the number.
 */
export interface IdentityReader {
  identify: (body: IdentityBody) => Identity
  /**
   * `confirm`, when present, is the deferred full check: it throws as `identify` would. It never changes the
   * identity: numbers that may be test identities (read differently by the full check) are not deferred.
   */
  identifyLater: (body: IdentityBody) => { identity: Identity, confirm?: () => void }
}

/** What reading an identifier takes: the numbering-plan policy, and the test identities that skip it. */
export type IdentityPolicy = Pick<ResolvedOptions, 'defaultCountry' | 'allowedCountries' | 'testIdentities'>

export function identityReader (policy: IdentityPolicy): IdentityReader {
  const phonePolicy = { defaultCountry: policy.defaultCountry, allowedCountries: policy.allowedCountries }
  const identify = (body: IdentityBody): Identity => {
    if (body.email !== undefined) {
      const email = normalizeEmail(body.email)
      if (email === undefined) throw new InvalidEmailError()
      return email
    }
    const input = body.phone ?? ''
    const phone = normalizePhone(input, phonePolicy)
    if (phone !== undefined) return phone
    // Test identities may use numbers no carrier would accept (+1 555 …), so they skip the numbering plan.
    const loose = looseE164(input)
    if (loose !== undefined && policy.testIdentities.has(loose)) return { kind: 'phone', channel: 'sms', value: loose }
    throw new InvalidPhoneError()
  }
  // Test identities skip the numbering plan, so a number that may be one is read the full way at once.
  const mayBeTestIdentity = (input: string, parsed: string): boolean => policy.testIdentities.size > 0 &&
    (policy.testIdentities.has(parsed) || policy.testIdentities.has(looseE164(input) ?? ''))
  const identifyLater = (body: IdentityBody): { identity: Identity, confirm?: () => void } => {
    const input = body.phone ?? ''
    const phone = body.email === undefined ? parsePhone(input, phonePolicy) : undefined
    if (phone === undefined || mayBeTestIdentity(input, phone.identity.value)) return { identity: identify(body) }
    // Not a test identity, so the full check would come down to the numbering plan of this very reading.
    return { identity: phone.identity, confirm: () => { if (!phone.isValid()) throw new InvalidPhoneError() } }
  }
  return { identify, identifyLater }
}

/**
 * How one factor of a sign-in was proved: a code sent by SMS or e-mail, an authenticator's code, a recovery code,
 * a passkey bound to its device or a synced (backed-up) one, each with user verification.
 */
export type AuthMethod = 'sms' | 'email' | 'totp' | 'recovery' | 'passkey' | 'synced-passkey'

/**
 * A value of the `amr` claim: RFC 8176's where one exists (`sms`, `otp` for an authenticator's code, `mfa`), the
 * plugin's own otherwise (`email`, `recovery`). docs/tokens.md lists them in one table.
 */
export type AmrValue = 'sms' | 'email' | 'otp' | 'recovery' | 'hwk' | 'swk' | 'mfa'
const amrValue: Record<AuthMethod, AmrValue> = { sms: 'sms', email: 'email', totp: 'otp', recovery: 'recovery', passkey: 'hwk', 'synced-passkey': 'swk' }
const isPasskey = (method: AuthMethod | undefined): boolean => method === 'passkey' || method === 'synced-passkey'

/**
 * The `amr` claim of a sign-in made of `methods`, in order; `mfa` after them when two factors were used. A
 * passkey with user verification is two factors on its own (the device, and the PIN or biometric that unlocks it).
 */
export function amrClaim (methods: readonly AuthMethod[]): AmrValue[] {
  const amr = methods.map((method) => amrValue[method])
  return methods.length > 1 || methods.some(isPasskey) ? [...amr, 'mfa'] : amr
}

/** What a right first factor leaves for the second: the claims of the user `findOrCreateUser` named. */
export interface ChallengeData {
  identity: Identity
  claims: UserClaims
  /** The methods so far (the first factor's), not yet `amr` values: `finish` makes the claim. */
  amr: AuthMethod[]
}

export type UserClaims = Record<string, unknown> & { sub: string }

/** The body of a right first factor for a user who must still give the second. */
export interface MfaBody { mfaRequired: true, mfaToken: string, mfaExpiresIn: number }

/** Seconds a second-factor token lives. */
export const mfaTtl = 300

// `<identifier, base64url>.<secret>`: the identifier finds the challenge (in its Redis Cluster slot, beside the
// identifier's failure count); the secret (256 bits) proves possession and is stored only as a hash.
const mfaTokenFormat = /^([A-Za-z0-9_-]{2,400})\.[A-Za-z0-9_-]{43}$/

/** The identifier and challenge id of a second-factor token, or undefined for anything the plugin did not issue. */
export function readMfaToken (token: unknown): { identifier: string, challengeId: string } | undefined {
  if (typeof token !== 'string') return undefined
  const match = mfaTokenFormat.exec(token)
  if (match === null) return undefined
  const identifier = Buffer.from(match[1] ?? '', 'base64url').toString()
  if (Buffer.from(identifier).toString('base64url') !== match[1]) return undefined
  return { identifier, challengeId: sha256(token) }
}

// Lives beside the service, where app.otpCredentials reads it too.
export { userOwner }

export interface SignIn {
  /** The user of an identity that just proved itself: `findOrCreateUser`, once per sign-in. */
  userClaims: (identity: Identity, request: FastifyRequest) => Promise<UserClaims>
  /**
   * After a right first factor: tokens or, in second-factor mode for a user with an authenticator on, a
   * second-factor token.
   */
  afterFirstFactor: (identity: Identity, method: AuthMethod, request: FastifyRequest, reply: FastifyReply, device?: string) => Promise<TokenBody | MfaBody>
  /** Whether a first factor may need a second: the counters then wait until the sign-in is done (`deferReset`). */
  secondFactor: boolean
  /** Tokens (and a device token) for a sign-in that is complete, made of `methods` (in order). */
  finish: (identity: Identity, claims: UserClaims, methods: AuthMethod[], request: FastifyRequest, reply: FastifyReply, device?: string) => Promise<TokenBody>
}

/** What a sign-in takes: the host's user lookup, the parts that issue and count, and the second factor if any. */
export interface SignInParts extends Pick<ResolvedOptions, 'findOrCreateUser'> {
  store: OtpStore
  tokens: TokenIssuer
  emit: Emit
  devices: DeviceTokens | undefined
  cookies: CookieJar | undefined
  /** Authenticators in second-factor mode; undefined without them, or in alternative mode. */
  secondFactor: TotpService | undefined
}

export function signInFlow ({ findOrCreateUser, store, tokens, emit, devices, cookies, secondFactor }: SignInParts): SignIn {
  const userClaims = async (identity: Identity, request: FastifyRequest): Promise<UserClaims> => {
    const user = await findOrCreateUser(identity.kind === 'phone'
      ? { phone: identity.value, request }
      : { email: identity.value, request })
    checkUser(user)
    return { ...extraClaims(user), sub: String(user.id), [identity.kind]: identity.value }
  }

  const finish: SignIn['finish'] = async (identity, claims, methods, request, reply, device) => {
    const { body, sessionId, ended } = await tokens.issue(reply, { ...claims, amr: amrClaim(methods), auth_time: Math.floor(Date.now() / 1000) })
    if (devices !== undefined) body.deviceToken = devices.issue(identity.value, device)
    const about = { identifier: identity.value, userId: claims.sub }
    for (const id of ended) emit(request, { type: 'session-ended', reason: 'limit', sessionId: id, ...about })
    if (sessionId !== undefined) emit(request, { type: 'session-created', sessionId, ...about })
    const last = methods.at(-1)
    const factor = last === 'totp' || last === 'recovery' ? last : isPasskey(last) ? 'passkey' : 'otp'
    emit(request, { type: 'verified', channel: identity.channel, factor, ...about })
    return cookies === undefined ? body : cookies.store(reply, body)
  }

  const afterFirstFactor: SignIn['afterFirstFactor'] = async (identity, method, request, reply, device) => {
    const claims = await userClaims(identity, request)
    if (secondFactor !== undefined && await secondFactor.isEnabled(userOwner(claims.sub))) {
      const mfaToken = `${Buffer.from(identity.value).toString('base64url')}.${randomId(32)}`
      const data: ChallengeData = { identity, claims, amr: [method] }
      const json = JSON.stringify(data) // outside reachStore: a claim that cannot be serialised is no outage
      await reachStore(() => store.createChallenge(identity.value, sha256(mfaToken), json, mfaTtl * 1000))
      emit(request, { type: 'mfa-required', identifier: identity.value, channel: identity.channel, userId: claims.sub })
      return { mfaRequired: true, mfaToken, mfaExpiresIn: mfaTtl }
    }
    // No second factor for this user: the sign-in is done, so the counters the first factor kept are reset.
    if (secondFactor !== undefined) await reachStore(() => store.resetCounters(identity.value, device))
    return await finish(identity, claims, [method], request, reply, device)
  }

  return { userClaims, afterFirstFactor, finish, secondFactor: secondFactor !== undefined }
}

function checkUser (user: OtpUserRecord): void {
  if (user === null || typeof user !== 'object' || (typeof user.id !== 'string' && typeof user.id !== 'number') || user.id === '') {
    throw new Error('fastify-otp-login: findOrCreateUser must return an object with a non-empty id')
  }
}

// Claims the plugin or the signer sets; a value of the same name from findOrCreateUser is dropped.
const reservedClaims = new Set(['id', 'sub', 'phone', 'email', 'iat', 'exp', 'nbf', 'jti', 'sid', 'amr', 'auth_time'])
function extraClaims (user: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(user).filter(([name]) => !reservedClaims.has(name)))
}

/**
 * The device token a sign-in request carries: the `deviceToken` body field, or in cookie mode the device
 * cookie (the field still counts, for a client that keeps it itself). Read, not yet checked.
 */
export function presentedDeviceToken (cookies: CookieJar | undefined, request: FastifyRequest, body: { deviceToken?: string } | undefined): string | undefined {
  return cookies?.deviceToken(request) ?? body?.deviceToken
}

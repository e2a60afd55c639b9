import type { FastifyReply, FastifyRequest } from 'fastify'
import { InvalidEmailError, InvalidPhoneError } from '../errors.js'
import { looseE164, normalizeEmail, normalizePhone, parsePhone, type Identity } from '../identity.js'
import type { OtpUserRecord, ResolvedOptions } from '../options.js'
import type { TokenBody, TokenIssuer } from '../tokens.js'

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

export function identityReader (settings: ResolvedOptions): IdentityReader {
  const phonePolicy = { defaultCountry: settings.defaultCountry, allowedCountries: settings.allowedCountries }
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
    if (loose !== undefined && settings.testIdentities.has(loose)) return { claim: 'phone', channel: 'sms', value: loose }
    throw new InvalidPhoneError()
  }
  // Test identities skip the numbering plan, so a number that may be one is read the full way at once.
  const mayBeTestIdentity = (input: string, parsed: string): boolean => settings.testIdentities.size > 0 &&
    (settings.testIdentities.has(parsed) || settings.testIdentities.has(looseE164(input) ?? ''))
  const identifyLater = (body: IdentityBody): { identity: Identity, confirm?: () => void } => {
    const input = body.phone ?? ''
    const phone = body.email === undefined ? parsePhone(input, phonePolicy) : undefined
    if (phone === undefined || mayBeTestIdentity(input, phone.identity.value)) return { identity: identify(body) }
    // Not a test identity, so the full check would come down to the numbering plan of this very reading.
    return { identity: phone.identity, confirm: () => { if (!phone.isValid()) throw new InvalidPhoneError() } }
  }
  return { identify, identifyLater }
}

/** Tokens for an identity that has just proved itself: `findOrCreateUser`, then the same claims on every route. */
export async function signIn (
  settings: ResolvedOptions, tokens: TokenIssuer, identity: Identity, request: FastifyRequest, reply: FastifyReply
): Promise<{ body: TokenBody, userId: string }> {
  const user = await settings.findOrCreateUser(identity.claim === 'phone'
    ? { phone: identity.value, request }
    : { email: identity.value, request })
  checkUser(user)
  const userId = String(user.id)
  return { body: await tokens.issue(reply, { ...extraClaims(user), sub: userId, [identity.claim]: identity.value }), userId }
}

function checkUser (user: OtpUserRecord): void {
  if (user === null || typeof user !== 'object' || (typeof user.id !== 'string' && typeof user.id !== 'number') || user.id === '') {
    throw new Error('fastify-otp-login: findOrCreateUser must return an object with a non-empty id')
  }
}

// Claims the plugin or the signer sets; a value of the same name from findOrCreateUser is dropped.
const reservedClaims = new Set(['id', 'sub', 'phone', 'email', 'iat', 'exp', 'nbf', 'jti', 'sid'])
function extraClaims (user: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(user).filter(([name]) => !reservedClaims.has(name)))
}

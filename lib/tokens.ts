import { createHash } from 'node:crypto'
import createError from '@fastify/error'
import type { FastifyReply } from 'fastify'
import { RefreshInvalidError, RefreshReusedError } from './errors.js'
import { randomId } from './random.js'
import type { ResolvedOptions } from './options.js'
import { reachStore } from './store/reach.js'
import type { OtpStore } from './store/types.js'

/** @fastify/jwt's own code for a token its `trusted` check refuses; a revoked session answers the same. */
export const TokenRevokedError = createError('FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED', 'Untrusted authorization token', 401)

export type SignAccessToken = (reply: FastifyReply, claims: Record<string, unknown>) => Promise<string>

export interface TokenBody {
  access: string
  tokenType: 'Bearer'
  expiresIn: number
  refresh?: string
  refreshExpiresIn?: number
}

// `<family id>.<secret>`: the family id (128 bits) finds the session, the secret (256 bits) proves possession.
const refreshFormat = /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/
const sha256 = (token: string): string => createHash('sha256').update(token).digest('base64url')

/**
 * The session (refresh family) of verified claims. Every access token the plugin issues with sessions on has
 * one: a token without was signed for something else, and is refused.
 */
function sessionOf (user: { sid?: unknown }): string {
  if (typeof user.sid !== 'string') throw new TokenRevokedError()
  return user.sid
}

/**
 * Issues access tokens and, unless `refreshTokenTtl` is false, opaque refresh tokens whose families live in
 * the store (hashes only). Every access token carries `jti` and, with sessions, `sid` (its family).
 */
export class TokenIssuer {
  readonly sessions: boolean
  private readonly refreshTtl: number
  private readonly accessTtl: number

  constructor (settings: ResolvedOptions, private readonly store: OtpStore, private readonly sign: SignAccessToken) {
    this.sessions = settings.refreshTokenTtl !== false
    this.refreshTtl = settings.refreshTokenTtl === false ? 0 : settings.refreshTokenTtl
    this.accessTtl = settings.accessTokenTtl
  }

  /** Tokens for a user who just proved a code; `claims` are what every access token of the session carries. */
  async issue (reply: FastifyReply, claims: Record<string, unknown>): Promise<TokenBody> {
    if (!this.sessions) return await this.body(reply, claims)
    const familyId = randomId(16)
    const refresh = `${familyId}.${randomId(32)}`
    const stored = JSON.stringify(claims) // outside reachStore: a claim that cannot be serialised is no outage
    await reachStore(() => this.store.createSession(familyId, sha256(refresh), stored, this.refreshTtl * 1000))
    return await this.body(reply, claims, familyId, refresh)
  }

  /** Spends `refresh` for a new pair; a spent one ends its family (`OTP_REFRESH_REUSED`). */
  async refresh (reply: FastifyReply, refresh: string): Promise<{ body: TokenBody, claims: Record<string, unknown> }> {
    const familyId = refreshFormat.exec(refresh)?.[1]
    if (familyId === undefined) throw new RefreshInvalidError()
    const next = `${familyId}.${randomId(32)}`
    const result = await reachStore(() => this.store.rotateSession(familyId, sha256(refresh), sha256(next), {
      ttlMs: this.refreshTtl * 1000,
      revokedForMs: this.accessTtl * 1000
    }))
    if (result.status === 'reused') throw new RefreshReusedError()
    if (result.status === 'invalid') throw new RefreshInvalidError()
    const claims = JSON.parse(result.claims) as Record<string, unknown>
    return { body: await this.body(reply, claims, familyId, next), claims }
  }

  /**
   * Ends the session of a verified access token's claims: its refresh family and every access token issued in
   * it. One round trip: it also refuses a token whose session was already revoked, so callers skip
   * `assertNotRevoked`.
   */
  async endSession (user: { sid?: unknown }): Promise<void> {
    if (!this.sessions) return
    const familyId = sessionOf(user)
    if (!await reachStore(() => this.store.endSession(familyId, this.accessTtl * 1000))) throw new TokenRevokedError()
  }

  /**
   * Refuses an access token whose session was ended by logout or by refresh-token reuse, and, with sessions
   * on, a token without a session (one the host signed with the same key for another purpose).
   */
  async assertNotRevoked (user: { sid?: unknown }): Promise<void> {
    if (!this.sessions) return
    const familyId = sessionOf(user)
    if (await reachStore(() => this.store.isSessionRevoked(familyId))) throw new TokenRevokedError()
  }

  private async body (reply: FastifyReply, claims: Record<string, unknown>, sid?: string, refresh?: string): Promise<TokenBody> {
    const access = await this.sign(reply, { ...claims, jti: randomId(16), ...(sid === undefined ? {} : { sid }) })
    const body: TokenBody = { access, tokenType: 'Bearer', expiresIn: this.accessTtl }
    if (refresh !== undefined) {
      body.refresh = refresh
      body.refreshExpiresIn = this.refreshTtl
    }
    return body
  }
}

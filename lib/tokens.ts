import crypto, { createHash, createHmac, createSecretKey } from 'node:crypto'
import createError from '@fastify/error'
import type { FastifyReply } from 'fastify'
import { RefreshInvalidError, RefreshReusedError } from './errors.js'
import { randomId } from './fast-paths/random-pool.js'
import type { ResolvedOptions } from './options.js'
import { reachStore } from './store/reach.js'
import type { EndScope, OtpStore } from './store/types.js'
import type { InvalidationChannel, LiveSessionCache } from './fast-paths/session-cache.js'

/** @fastify/jwt's own code for a token its `trusted` check refuses; a token whose session ended answers the same. */
export const TokenRevokedError = createError('FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED', 'Untrusted authorization token', 401)

export type SignAccessToken = (reply: FastifyReply, claims: Record<string, unknown>) => Promise<string>

export interface TokenBody {
  access: string
  tokenType: 'Bearer'
  expiresIn: number
  refresh?: string
  refreshExpiresIn?: number
  deviceToken?: string
}

/** A session as `GET /sessions` and `app.otpSessions.list` show it. Times are seconds since the epoch. */
export interface SessionView {
  id: string
  createdAt: number
  lastUsedAt: number
  expiresAt: number
  /** The sign-in methods of the session, as in its tokens' `amr` claim. */
  amr: string[]
}

// `<user key>.<session id>.<secret>`: the user key (a hash of `sub`) and the session id find the session, in
// the user's slot on Redis Cluster; the secret (256 bits) proves possession and is stored only as a hash.
const refreshFormat = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/
const sessionIdFormat = /^[A-Za-z0-9_-]{22}$/
// crypto.hash (Node 20.12+) is the one-shot form, several times cheaper than a Hash object; the same digest.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash
export const sha256 = oneShot === undefined
  ? (token: string): string => createHash('sha256').update(token).digest('base64url')
  : (token: string): string => oneShot('sha256', token, 'base64url')

/**
 * Where a user's sessions live: 132 bits of HMAC-SHA256 of the user id under a key derived from `codeSecret`.
 * A fixed-size, brace-free hash tag whatever the id is, so all of one user's sessions share one Redis Cluster
 * slot; keyed, so a refresh token does not tell whose it is even when user ids can be guessed (phone numbers).
 */
export function userKeyer (codeSecret: string): (userId: string) => string {
  const key = createSecretKey(createHmac('sha256', codeSecret).update('fastify-otp-login session user key').digest())
  return (userId) => createHmac('sha256', key).update(userId).digest('base64url').slice(0, 22)
}

/** Optional: a per-instance cache of live sessions and the channel that invalidates it on every instance. */
export interface SessionCaching {
  cache: LiveSessionCache
  channel: InvalidationChannel
}

/** What the token issuer reads of the options. */
export type TokenSettings = Pick<ResolvedOptions, 'refreshTokenTtl' | 'refreshGrace' | 'accessTokenTtl' | 'maxSessions' | 'codeSecret'>

/**
 * Issues access tokens and, unless `refreshTokenTtl` is false, sessions: opaque refresh tokens whose hashes live
 * in the store, grouped by user. An access token is accepted only while its session lives (an allow-list): a
 * logout, a revocation, refresh-token reuse, expiry or the loss of the store's data all end it.
 */
export class TokenIssuer {
  readonly sessions: boolean
  private readonly refreshTtl: number
  private readonly accessTtl: number
  private readonly maxSessions: number
  private readonly graceMs: number
  private readonly userKey: (userId: string) => string

  constructor (
    settings: TokenSettings, private readonly store: OtpStore, private readonly sign: SignAccessToken,
    private readonly caching?: SessionCaching
  ) {
    this.sessions = settings.refreshTokenTtl !== false
    this.refreshTtl = settings.refreshTokenTtl === false ? 0 : settings.refreshTokenTtl
    this.accessTtl = settings.accessTokenTtl
    this.maxSessions = settings.maxSessions
    this.graceMs = settings.refreshGrace * 1000
    this.userKey = userKeyer(settings.codeSecret)
  }

  /** The user and session of verified claims, or undefined for a token that has none. */
  private sessionOf (user: { sub?: unknown, sid?: unknown }): { userKey: string, sessionId: string } | undefined {
    if (typeof user.sub !== 'string' || typeof user.sid !== 'string') return undefined
    return { userKey: this.userKey(user.sub), sessionId: user.sid }
  }

  /**
   * Sessions that just ended: out of this instance's cache at once. Every other instance hears of them on the
   * channel, where the store's script announced them in the same round trip that ended them.
   */
  private ended (sessionIds: readonly string[]): void {
    for (const id of sessionIds) this.caching?.cache.drop(id)
  }

  /**
   * Tokens for a user who just signed in; `claims` (with `sub`, `amr` and `auth_time`) are what every access
   * token of the session carries. `ended`: sessions of the user that ended to stay within `maxSessions`.
   */
  async issue (reply: FastifyReply, claims: Record<string, unknown> & { sub: string, amr: string[] }): Promise<{
    body: TokenBody, sessionId?: string, ended: string[]
  }> {
    if (!this.sessions) return { body: await this.body(reply, claims), ended: [] }
    const key = this.userKey(claims.sub)
    const sessionId = randomId(16)
    const refresh = `${key}.${sessionId}.${randomId(32)}`
    // Outside reachStore: a claim that cannot be serialised is no outage.
    const record = { tokenHash: sha256(refresh), claims: JSON.stringify(claims), amr: JSON.stringify(claims.amr) }
    const { ended } = await reachStore(() => this.store.createSession(key, sessionId, record, {
      ttlMs: this.refreshTtl * 1000, now: Date.now(), maxSessions: this.maxSessions
    }))
    this.ended(ended)
    return { body: await this.body(reply, claims, sessionId, refresh), sessionId, ended }
  }

  /**
   * Spends `refresh` for a new pair; a spent one ends its session (`OTP_REFRESH_REUSED`), but for the token the
   * last refresh spent, presented once more within `refreshGrace` (a lost answer, two tabs): a pair of its own.
   */
  async refresh (reply: FastifyReply, refresh: string): Promise<{ body: TokenBody, claims: Record<string, unknown>, sessionId: string }> {
    const match = refreshFormat.exec(refresh)
    if (match === null) throw new RefreshInvalidError()
    const [, key = '', sessionId = ''] = match
    const next = `${key}.${sessionId}.${randomId(32)}`
    const result = await reachStore(() => this.store.rotateSession(key, sessionId, sha256(refresh), sha256(next), {
      ttlMs: this.refreshTtl * 1000, now: Date.now(), graceMs: this.graceMs
    }))
    if (result.status === 'reused') {
      this.ended([sessionId])
      throw Object.assign(new RefreshReusedError(), { sessionId })
    }
    if (result.status === 'invalid') throw new RefreshInvalidError()
    const claims = JSON.parse(result.claims) as Record<string, unknown>
    return { body: await this.body(reply, claims, sessionId, next), claims, sessionId }
  }

  /**
   * Ends sessions for a logout with a verified access token: its own (`current`), all the user's others, or
   * all. One round trip: it also refuses a token whose session is no longer live. The ids that ended.
   */
  async logout (user: { sub?: unknown, sid?: unknown }, scope: 'current' | 'others' | 'all'): Promise<string[]> {
    const session = this.sessionOf(user)
    if (session === undefined) throw new TokenRevokedError()
    const storeScope: EndScope = scope === 'current' ? 'one' : scope
    const result = await reachStore(() => this.store.endSessions(session.userKey, storeScope, session.sessionId))
    if (result.status === 'not-live' || (scope === 'current' && result.ended.length === 0)) throw new TokenRevokedError()
    this.ended(result.ended)
    return result.ended
  }

  /**
   * Refuses an access token whose session is not live, and, with sessions on, a token without one. With the
   * session cache, a session seen live in the last moment (and not ended since, on any instance) needs no
   * round trip.
   */
  async assertLive (user: { sub?: unknown, sid?: unknown }): Promise<void> {
    if (!this.sessions) return
    // Session ids are 128 random bits, and a verified token binds its sid to its sub: the id alone is the key.
    const cache = this.caching?.cache
    if (cache !== undefined && typeof user.sid === 'string' && typeof user.sub === 'string' && cache.has(user.sid)) return
    const session = this.sessionOf(user)
    if (session === undefined) throw new TokenRevokedError()
    const version = cache?.version ?? 0
    if (!await reachStore(() => this.store.isSessionLive(session.userKey, session.sessionId))) throw new TokenRevokedError()
    cache?.add(session.sessionId, version)
  }

  /** The user's live sessions, newest first. */
  async list (userId: string): Promise<SessionView[]> {
    const sessions = await reachStore(() => this.store.listSessions(this.userKey(userId)))
    const seconds = (ms: number): number => Math.floor(ms / 1000)
    return sessions
      .map((s) => ({ id: s.id, createdAt: seconds(s.createdAt), lastUsedAt: seconds(s.lastUsedAt), expiresAt: seconds(s.expiresAt), amr: parseAmr(s.amr) }))
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1))
  }

  /** Ends one session of the user; false when it is not a live session of theirs. */
  async revoke (userId: string, sessionId: string): Promise<boolean> {
    if (!sessionIdFormat.test(sessionId)) return false
    const key = this.userKey(userId)
    const result = await reachStore(() => this.store.endSessions(key, 'one', sessionId))
    if (result.status !== 'ok' || result.ended.length === 0) return false
    this.ended(result.ended)
    return true
  }

  /** Ends every session of the user; the ids that ended. */
  async revokeAll (userId: string): Promise<string[]> {
    const key = this.userKey(userId)
    const result = await reachStore(() => this.store.endSessions(key, 'all'))
    if (result.status !== 'ok') return []
    this.ended(result.ended)
    return result.ended
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

function parseAmr (json: string): string[] {
  try {
    const amr: unknown = JSON.parse(json)
    return Array.isArray(amr) ? amr.filter((m): m is string => typeof m === 'string') : []
  } catch {
    return []
  }
}

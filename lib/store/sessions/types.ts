/**
 * Sessions, grouped by user (`userKey`, a hash of the user id). A session keeps the hash of its current refresh
 * token, the hashes of the ones it spent, the claims its access tokens carry and when it was created and last
 * used. It lives for `ttlMs` from its last rotation. Its access tokens are accepted only while it lives. Each
 * method is one atomic step; a store sees only hashes and ids, never tokens. All durations and times are
 * milliseconds.
 */
export interface SessionStore {
  createSession (userKey: string, sessionId: string, record: NewSession, policy: SessionPolicy): Promise<SessionEnd>
  /** Swaps the current token for `newHash` if `tokenHash` is current; a spent one ends the session (`reused`). */
  rotateSession (userKey: string, sessionId: string, tokenHash: string, newHash: string, policy: SessionPolicy): Promise<RotateResult>
  isSessionLive (userKey: string, sessionId: string): Promise<boolean>
  /**
   * Ends sessions of one user: `one` ends `sessionId`; `others` every one but `sessionId`; `all` every one.
   * With `others`, and with `all` when `sessionId` is given, nothing ends unless `sessionId` is live
   * (`status: 'not-live'`): a logout needs a live session.
   */
  endSessions (userKey: string, scope: EndScope, sessionId?: string): Promise<EndResult>
  /** The user's live sessions, in no particular order. */
  listSessions (userKey: string): Promise<SessionInfo[]>
}

/** Every method of `SessionStore`. */
export const sessionStoreMethods = ['createSession', 'rotateSession', 'isSessionLive', 'endSessions', 'listSessions'] as const

/**
 * How many spent refresh tokens of a session a store remembers: presenting one of them is reuse (the session
 * ends); an older one is merely invalid. Bounds a session's memory however often it is refreshed.
 */
export const SPENT_KEPT = 32

export interface SessionPolicy {
  /** The session's lifetime from now on. */
  ttlMs: number
  /** Now, as the plugin's clock tells it: a session's `createdAt` and `lastUsedAt`. */
  now: number
  /** `createSession` only: the most sessions a user keeps; the least recently used ones beyond it end. */
  maxSessions?: number
}

export interface NewSession {
  tokenHash: string
  /** The claims of its access tokens, as JSON. */
  claims: string
  /** The sign-in methods, as JSON (`["sms","totp"]`), for listings. */
  amr: string
}

export interface SessionInfo {
  id: string
  createdAt: number
  lastUsedAt: number
  expiresAt: number
  /** As given to `createSession`. */
  amr: string
}

export type EndScope = 'one' | 'others' | 'all'

/** The ids of the sessions that ended (those beyond `maxSessions`, for `createSession`). */
export interface SessionEnd { ended: string[] }

export type EndResult = { status: 'ok', ended: string[] } | { status: 'not-live' }

export type RotateResult =
  /** `claims` is what `createSession` was given. */
  | { status: 'ok', claims: string }
  /** A spent token was presented: the session is ended, and with it its access tokens. */
  | { status: 'reused' }
  /** Unknown, expired or ended session, or a token it never issued. */
  | { status: 'invalid' }

/**
 * Sessions, grouped by user (`userKey`, a hash of the user id). A session keeps the hash of its current refresh
 * token, the hashes of the ones it spent, the claims its access tokens carry and when it was created and last
 * used. It lives for `ttlMs` from its last rotation. Its access tokens are accepted only while it lives. Each
 * method is one atomic step; a store sees only hashes and ids, never tokens. All durations and times are
 * milliseconds.
 */
export interface SessionStore {
  /**
   * Starts a session. The least recently used sessions beyond `policy.maxSessions` end at once (no longer live,
   * not listed), but are parked for `PARKED_MS`, so that `restoreSessions` can bring them back.
   */
  createSession (userKey: string, sessionId: string, record: NewSession, policy: SessionPolicy): Promise<SessionEnd>
  /**
   * Undoes the ends of a `createSession` whose answer came after the plugin's deadline (the sign-in was told
   * 503): each of `sessionIds` it parked comes back as it was (tokens, spent tokens, claims, times, place in the
   * order of use, expiry). Answers the ids restored; one that is not parked (never, or over `PARKED_MS` ago, or
   * ended since by `endSessions`) stays ended.
   */
  restoreSessions (userKey: string, sessionIds: string[]): Promise<string[]>
  /**
   * Swaps the current token for `newHash` if `tokenHash` is current; a spent one ends the session (`reused`).
   * With `policy.graceMs`, the token a rotation spent may come back once within it (a lost answer, two tabs):
   * then `newHash` becomes a second current token beside its successor, and whichever of the two is rotated first
   * goes on while the other counts as spent. Presented again after that, or after the grace, it is reuse.
   */
  rotateSession (userKey: string, sessionId: string, tokenHash: string, newHash: string, policy: SessionPolicy): Promise<RotateResult>
  /**
   * Undoes a `rotateSession` from `tokenHash` to `newHash` whose answer came after the plugin's deadline, so the
   * client was told 503 and still holds `tokenHash`. When it was the session's last rotation, the session is as
   * it was before it: both current tokens (a grace retry's second one too), the grace with the time it had left,
   * the spent tokens (a rotation keeps what it replaces, for this). Otherwise, if `newHash` is still current,
   * `tokenHash` takes its place and is no longer spent. False, and nothing changes, when `newHash` is not current
   * (or the session ended).
   */
  undoRotation (userKey: string, sessionId: string, tokenHash: string, newHash: string): Promise<boolean>
  isSessionLive (userKey: string, sessionId: string): Promise<boolean>
  /**
   * Ends sessions of one user: `one` ends `sessionId`; `others` every one but `sessionId`; `all` every one.
   * With `others`, and with `all` when `sessionId` is given, nothing ends unless `sessionId` is live
   * (`status: 'not-live'`): a logout needs a live session. What it ends, parked sessions included, can no longer
   * be restored (`ended` lists only the live ones).
   */
  endSessions (userKey: string, scope: EndScope, sessionId?: string): Promise<EndResult>
  /** The user's live sessions, in no particular order. */
  listSessions (userKey: string): Promise<SessionInfo[]>
}

/** Every method of `SessionStore`. */
export const sessionStoreMethods = ['createSession', 'rotateSession', 'isSessionLive', 'endSessions', 'listSessions', 'undoRotation', 'restoreSessions'] as const

/**
 * How many spent refresh tokens of a session a store remembers: presenting one of them is reuse (the session
 * ends); an older one is merely invalid. Bounds a session's memory however often it is refreshed.
 */
export const SPENT_KEPT = 32

/**
 * How long a session that `createSession` ended beyond `maxSessions` stays parked (restorable, never live): the
 * late answer that restores it comes as soon as the store answers, so a minute is ample, and memory stays bounded.
 */
export const PARKED_MS = 60_000

export interface SessionPolicy {
  /** The session's lifetime from now on. */
  ttlMs: number
  /** Now, as the plugin's clock tells it: a session's `createdAt` and `lastUsedAt`. */
  now: number
  /** `createSession` only: the most sessions a user keeps; the least recently used ones beyond it end. */
  maxSessions?: number
  /**
   * `rotateSession` only: how long after this rotation the token it spends may be presented once more for a
   * token of its own (`refreshGrace`). 0 or absent: never, a spent token is reuse at once.
   */
  graceMs?: number
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

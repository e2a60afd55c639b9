/**
 * A store keeps, per identifier, the HMAC of its current code with the code's wrong-guess count, and the
 * identifier's send, failure and lockout counters; second-factor challenges; and the sessions of each user.
 * Each method is one atomic step: under any concurrency a code yields at most one `ok`, and no more than
 * `maxAttempts` guesses are ever compared against it. Stores see only identifiers, ids and hashes, never codes,
 * tokens or HTTP. All durations and times are milliseconds.
 *
 * `device`: the id of a trusted device (see `trustedDevices`). Given, the method works on that device's own
 * code and counters for the identifier instead of the identifier's: a device is locked out alone, and is not
 * held back by a lockout that others caused.
 */
export interface OtpStore {
  issueCode (identifier: string, codeHash: string, policy: IssuePolicy, device?: string): Promise<IssueResult>
  /**
   * Undoes an `issueCode` whose delivery failed: drops the code (if it is still the current one) and, with
   * `giveSendBack`, its send (from `maxSends`) and the resend wait.
   */
  revokeCode (identifier: string, codeHash: string, giveSendBack: boolean, device?: string): Promise<void>
  verifyCode (identifier: string, codeHash: string, policy: VerifyPolicy, device?: string): Promise<VerifyResult>
  /** Counts one send against a shared budget (e.g. SMS to one country): `limit` per `windowMs`, a fixed window. */
  consumeBudget (budget: string, limit: number, windowMs: number): Promise<BudgetResult>

  /**
   * The failure count and lockout of `verifyCode`, for codes checked outside the store (authenticator and
   * recovery codes). A guess is reserved first, counted as a failure in the same atomic step that checks the
   * lock, so parallel guesses never check more than `maxFailures`. Then the guess is settled: a right one clears
   * the count (`clearFailures`), a right one that could not be used (a time step already spent) is given back
   * (`refundGuess`), and a wrong one that was the `last` locks the identifier out (`lockOut`).
   */
  reserveGuess (identifier: string, policy: FailurePolicy, device?: string): Promise<GuessResult>
  refundGuess (identifier: string, device?: string): Promise<void>
  /** Locks the identifier out for `lockoutMs` and drops its code and failure count. */
  lockOut (identifier: string, lockoutMs: number, device?: string): Promise<void>
  clearFailures (identifier: string, device?: string): Promise<void>
  /** Resets the send, resend, failure and lockout counters, as a right code does (see `deferReset`). */
  resetCounters (identifier: string, device?: string): Promise<void>

  /**
   * Second-factor challenges: what a right first factor leaves for the second, found by the hash of its token
   * (`challengeId`), bound to the identifier, expiring after `ttlMs`. Each guess at it is reserved as for
   * `reserveGuess`, on the challenge's attempt count and on the identifier's (or device's) failure count at once.
   */
  createChallenge (identifier: string, challengeId: string, data: string, ttlMs: number): Promise<void>
  reserveChallenge (identifier: string, challengeId: string, policy: VerifyPolicy, device?: string): Promise<ChallengeResult>
  /** Gives back a reserved guess (challenge attempt and failure) whose right code could not be used. */
  refundChallenge (identifier: string, challengeId: string, device?: string): Promise<void>
  /** Spends the challenge and resets the counters as `resetCounters` does; false when it was already spent (or expired). */
  consumeChallenge (identifier: string, challengeId: string, device?: string): Promise<boolean>

  /**
   * Sessions, grouped by user (`userKey`, a hash of the user id). A session keeps the hash of its current
   * refresh token, the hashes of the ones it spent, the claims its access tokens carry and when it was created
   * and last used. It lives for `ttlMs` from its last rotation. Its access tokens are accepted only while it lives.
   */
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

  /** Called on the app's `onClose` for stores the plugin created itself. */
  close? (): Promise<void>
}

export interface IssuePolicy {
  /** How long the new code stays valid. */
  codeTtlMs: number
  /** Codes allowed per identifier within `windowMs`. */
  maxSends: number
  windowMs: number
  /** Minimum time between two codes; 0 turns the check off. */
  resendIntervalMs: number
}

export interface FailurePolicy {
  maxFailures: number
  /**
   * The length of a lockout, and of the failure window: the count ends `lockoutMs` after the last failure
   * (a sliding window), so no `lockoutMs` ever sees more than `maxFailures` failures.
   */
  lockoutMs: number
}

export interface VerifyPolicy extends FailurePolicy {
  maxAttempts: number
  /**
   * A right code only consumes the code; the send, failure and lockout counters stay until `resetCounters`
   * (or `consumeChallenge`) once the whole sign-in is done. For second-factor mode: a first factor alone must
   * not give back the guesses a second factor used.
   */
  deferReset?: boolean
}

export type IssueResult =
  | { status: 'issued' }
  /** Locked out after too many wrong guesses (`reason: 'locked'`), or `maxSends` used up in this window. */
  | { status: 'locked', retryAfterMs: number, reason?: 'locked' | 'max-sends' }
  | { status: 'too_soon', retryAfterMs: number }

export type VerifyResult =
  | { status: 'ok' }
  /** Wrong code, or no code at all (never requested, expired, already used). */
  | { status: 'invalid' }
  /** The code has taken `maxAttempts` wrong guesses. */
  | { status: 'burned' }
  /** `lockedNow`: this very guess reached `maxFailures`. */
  | { status: 'locked', retryAfterMs: number, lockedNow?: boolean }

export type GuessResult =
  /** Check the guess; `last`: it is the one that reaches `maxFailures`, so a wrong one locks out. */
  | { status: 'reserved', last: boolean }
  /** Locked out, or every allowed guess is taken by guesses still in flight. */
  | { status: 'locked', retryAfterMs: number }

export type ChallengeResult =
  /** Check the guess; `data` as created; `attempts` counts this one; `last` as for `reserveGuess`. */
  | { status: 'reserved', data: string, attempts: number, last: boolean }
  /** No such challenge for this identifier: never created, expired or spent. */
  | { status: 'invalid' }
  /** The challenge took `maxAttempts` wrong guesses. */
  | { status: 'burned' }
  | { status: 'locked', retryAfterMs: number }

export type BudgetResult =
  | { status: 'ok' }
  | { status: 'exceeded', retryAfterMs: number }

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

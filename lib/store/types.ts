/**
 * A store keeps, per identifier, the HMAC of its current code with the code's wrong-guess count, and the
 * identifier's send, failure and lockout counters. Each method is one atomic step: under any concurrency a
 * code yields at most one `ok`, and no more than `maxAttempts` guesses are ever compared against it.
 * Stores see only identifiers and HMACs, never codes or HTTP. All durations are milliseconds.
 */
export interface OtpStore {
  issueCode (identifier: string, codeHash: string, policy: IssuePolicy): Promise<IssueResult>
  /**
   * Undoes an `issueCode` whose delivery failed: drops the code (if it is still the current one) and, with
   * `giveSendBack`, its send (from `maxSends`) and the resend wait.
   */
  revokeCode (identifier: string, codeHash: string, giveSendBack: boolean): Promise<void>
  verifyCode (identifier: string, codeHash: string, policy: VerifyPolicy): Promise<VerifyResult>
  /** Counts one send against a shared budget (e.g. SMS to one country): `limit` per `windowMs`, a fixed window. */
  consumeBudget (budget: string, limit: number, windowMs: number): Promise<BudgetResult>

  /**
   * The failure count and lockout of `verifyCode`, for other ways of proving an identifier (authenticator codes,
   * recovery codes), where the check happens outside the store. A guess is reserved first, counted as a failure
   * in the same atomic step that checks the lock, so parallel guesses never check more than `maxFailures`.
   * Then a right guess clears the count, and a wrong one that was the `last` locks the identifier out.
   */
  reserveGuess (identifier: string, policy: FailurePolicy): Promise<GuessResult>
  /** Locks the identifier out for `lockoutMs` and drops its code and failure count. */
  lockOut (identifier: string, lockoutMs: number): Promise<void>
  clearFailures (identifier: string): Promise<void>

  /**
   * Sessions (refresh-token families). A family keeps the hash of its current refresh token, the hashes of the
   * ones it spent, and the claims its access tokens carry. `ttlMs` restarts at every rotation.
   */
  createSession (familyId: string, tokenHash: string, claims: string, ttlMs: number): Promise<void>
  /** Swaps the current token for `newHash` if `tokenHash` is current; a spent one ends the family (`reused`). */
  rotateSession (familyId: string, tokenHash: string, newHash: string, policy: SessionPolicy): Promise<RotateResult>
  /**
   * Ends the family and marks its access tokens revoked for `revokedForMs`; false when it was already
   * revoked (its access tokens are refused, so a logout with one of them must be too).
   */
  endSession (familyId: string, revokedForMs: number): Promise<boolean>
  isSessionRevoked (familyId: string): Promise<boolean>

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
  /** The failure-count window and the length of a lockout. */
  lockoutMs: number
}

export interface VerifyPolicy extends FailurePolicy {
  maxAttempts: number
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

/**
 * How many spent refresh tokens of a session a store remembers: presenting one of them is reuse (the session
 * is revoked); an older one is merely invalid. Bounds a session's memory however often it is refreshed.
 */
export const SPENT_KEPT = 32

export interface SessionPolicy {
  /** The family's lifetime from this rotation on. */
  ttlMs: number
  /** How long a family that ends by reuse keeps its access tokens refused: the longest access-token lifetime. */
  revokedForMs: number
}

export type RotateResult =
  /** `claims` is what `createSession` was given. */
  | { status: 'ok', claims: string }
  /** A spent token was presented: the family is ended and its access tokens are refused. */
  | { status: 'reused' }
  /** Unknown, expired or ended family, or a token it never issued. */
  | { status: 'invalid' }

export type BudgetResult =
  | { status: 'ok' }
  | { status: 'exceeded', retryAfterMs: number }

export type GuessResult =
  /** Check the guess; `last`: it is the one that reaches `maxFailures`, so a wrong one locks out. */
  | { status: 'reserved', last: boolean }
  /** Locked out, or every allowed guess is taken by guesses still in flight. */
  | { status: 'locked', retryAfterMs: number }

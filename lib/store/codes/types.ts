/**
 * Codes and counters: per identifier, the HMAC of its current code with the code's wrong-guess count, and the
 * identifier's send, failure and lockout counters; shared send budgets; and second-factor challenges, which
 * count their guesses on the same failure counter. Each method is one atomic step: under any concurrency a
 * code yields at most one `ok`, and no more than `maxAttempts` guesses are ever compared against it. A store
 * sees only identifiers, ids and hashes, never codes, tokens or HTTP. All durations and times are milliseconds.
 *
 * `device`: the id of a trusted device (see `trustedDevices`). Given, the method works on that device's own
 * code and counters for the identifier instead of the identifier's: a device is locked out alone, and is not
 * held back by a lockout that others caused.
 */
export interface CodeStore {
  issueCode (identifier: string, codeHash: string, policy: IssuePolicy, device?: string): Promise<IssueResult>
  /**
   * Undoes an `issueCode` whose code was never sent (its delivery failed, or its request got 503): drops the code
   * (if it is still the current one) and, with `giveSendBack`, its send (from `maxSends` and from the identifier's
   * ceiling), even when a newer code replaced it, and the resend wait, unless a newer code started its own.
   */
  revokeCode (identifier: string, codeHash: string, giveSendBack: boolean, device?: string): Promise<void>
  verifyCode (identifier: string, codeHash: string, policy: VerifyPolicy, device?: string): Promise<VerifyResult>
  /**
   * Counts one send against a shared budget (e.g. SMS to one country): `limit` per `windowMs`, a fixed window
   * from its first send. A send refused as `exceeded` is not counted, so a send given back frees a place.
   */
  consumeBudget (budget: string, limit: number, windowMs: number): Promise<BudgetResult>
  /**
   * Gives back one send that `consumeBudget` counted but that went nowhere (its delivery failed, or its request
   * got 503): the count never goes below 0, and the window keeps its end.
   */
  refundBudget (budget: string): Promise<void>

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
   * Passkey ceremonies: a challenge the server gave out, stored only as its hash (`challengeHash`), alive for
   * `ttlMs`. `takePasskeyChallenge` spends it: true once, false when it was never saved, expired or already taken.
   */
  savePasskeyChallenge (challengeHash: string, ttlMs: number): Promise<void>
  takePasskeyChallenge (challengeHash: string): Promise<boolean>
}

/** Every method of `CodeStore`: what a custom store is checked for, and what the store deadline bounds. */
export const codeStoreMethods = [
  'issueCode', 'revokeCode', 'verifyCode', 'consumeBudget', 'refundBudget', 'reserveGuess', 'refundGuess', 'lockOut', 'clearFailures', 'resetCounters',
  'createChallenge', 'reserveChallenge', 'refundChallenge', 'consumeChallenge', 'savePasskeyChallenge', 'takePasskeyChallenge'
] as const

export interface IssuePolicy {
  /** How long the new code stays valid. */
  codeTtlMs: number
  /** Codes allowed per identifier within `windowMs`. */
  maxSends: number
  windowMs: number
  /** Minimum time between two codes; 0 turns the check off. */
  resendIntervalMs: number
  /**
   * The ceiling: codes one identifier may be sent within `windowMs`, its own and all its devices' together, in
   * a window of its own that a sign-in does not reset. The `maxSends` of the identifier and of each device
   * apply within it. Absent: no ceiling.
   */
  maxSendsPerIdentifier?: number
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
  /**
   * Locked out after too many wrong guesses (`reason: 'locked'`), `maxSends` used up in this window, or the
   * identifier's ceiling (`maxSendsPerIdentifier`) reached, whatever device asks.
   */
  | { status: 'locked', retryAfterMs: number, reason?: 'locked' | 'max-sends' | 'max-sends-per-identifier' }
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
  | { status: 'locked', retryAfterMs: number }
  /**
   * Not locked, but every allowed guess is taken by guesses still in flight: refused unchecked and not counted;
   * worth trying again once they settle (a second).
   */
  | { status: 'busy' }

export type ChallengeResult =
  /** Check the guess; `data` as created; `attempts` counts this one; `last` as for `reserveGuess`. */
  | { status: 'reserved', data: string, attempts: number, last: boolean }
  /** No such challenge for this identifier: never created, expired or spent. */
  | { status: 'invalid' }
  /** The challenge took `maxAttempts` wrong guesses. */
  | { status: 'burned' }
  | { status: 'locked', retryAfterMs: number }
  /** As for `reserveGuess`: every allowed failure is taken by guesses still in flight. */
  | { status: 'busy' }

export type BudgetResult =
  | { status: 'ok' }
  | { status: 'exceeded', retryAfterMs: number }

import { plainError } from '../errors.js'
import { credentialStoreMethods, type CredentialStore } from './credentials/types.js'
import { otpStoreMethods, type AsyncMethodName, type OtpStore } from './types.js'

/** A store call that did not answer within `storeTimeout`; `reachStore` turns it into 503 OTP_STORE_UNAVAILABLE. */
class StoreTimeoutError extends Error {
  override name = 'OtpStoreTimeoutError'

  constructor (call: string, timeoutMs: number) {
    super(`${call} did not answer within ${timeoutMs} ms`)
  }
}

/**
 * `pending`, or a rejection with `timeoutError()` once `timeoutMs` have passed, whichever comes first. The
 * timer is cleared when `pending` settles. The work itself goes on: a command sent to a frozen Redis still
 * runs when it wakes, which is why nothing is ever issued on a call that timed out, and why `late` gets the
 * value of a call that succeeded after its deadline (to undo what the client was told did not happen).
 */
function settleWithin<T> (pending: Promise<T>, timeoutMs: number, timeoutError: () => Error, late?: (value: T) => void): Promise<T> {
  // One promise and one timer per call, no race: this wraps every store call of every request.
  return new Promise<T>((resolve, reject) => {
    let expired = false
    const timer = setTimeout(() => { expired = true; reject(timeoutError()) }, timeoutMs)
    Promise.resolve(pending).then(
      (value) => { clearTimeout(timer); if (expired) late?.(value); else resolve(value) },
      (err: unknown) => { clearTimeout(timer); reject(err) }
    )
  })
}

type Call<S, K extends keyof S> = S[K] extends (...args: infer A) => Promise<infer R> ? { args: A, result: R } : never

/**
 * Per method, what undoes a call that succeeded after its deadline: the request was answered 503, so its effect
 * must not last. Undefined when there is nothing to undo (the call changed nothing).
 */
export type Undos<S> = {
  [K in AsyncMethodName<S>]?: (store: S, args: Call<S, K>['args'], result: Call<S, K>['result']) => Promise<unknown> | undefined
}

/** Where the deadline wrapper says that it undid a late call, or could not: the app's logger. */
export interface LateCallLog {
  warn: (details: object, message: string) => void
  error: (details: object, message: string) => void
}

/**
 * The undos of `OtpStore`. A rotation is undone rather than left to `refreshGrace`: the grace starts when the
 * store runs the rotation (when Redis wakes), may be off or shorter than the client's wait before it retries, and
 * would be used up by a rotation nobody saw; the undo puts back exactly what the client holds.
 */
export const otpStoreUndos: Undos<OtpStore> = {
  // Nothing was sent: the code goes, with its send and the resend wait.
  issueCode: (store, [identifier, codeHash, , device], result) =>
    result.status === 'issued' ? store.revokeCode(identifier, codeHash, true, device) : undefined,
  // Nothing was sent: the send goes back to the budget (a refused one was not counted).
  consumeBudget: (store, [budget], result) => result.status === 'ok' ? store.refundBudget(budget) : undefined,
  // The client still holds the token it presented; the new one was never handed out.
  rotateSession: (store, [userKey, sessionId, tokenHash, newHash], result) =>
    result.status === 'ok' ? store.undoRotation(userKey, sessionId, tokenHash, newHash) : undefined,
  // A session whose tokens were never handed out: it would only show in the list and count against maxSessions.
  // The sessions it ended beyond maxSessions were only parked: they come back.
  createSession: (store, [userKey, sessionId], result) => unstartSession(store, userKey, sessionId, result.ended)
}

/**
 * Ends the session of a sign-in answered 503, then restores the sessions its `createSession` ended (in that order,
 * so the user is never over `maxSessions`). One that could not be restored stays ended: said in the error log,
 * with its id, rather than dropped in silence.
 */
async function unstartSession (store: OtpStore, userKey: string, sessionId: string, evicted: string[]): Promise<unknown> {
  const end = await store.endSessions(userKey, 'one', sessionId)
  if (evicted.length === 0) return end
  const restored = await store.restoreSessions(userKey, evicted)
  const lost = evicted.filter((id) => !restored.includes(id))
  if (lost.length > 0) throw new Error(`sessions it ended beyond maxSessions stay ended (not restored): ${lost.join(' ')}`)
  return restored
}

/**
 * The undos of `CredentialStore`: what a request answered 503 must not leave behind. An undo runs behind whatever
 * the client sent since (its retry, first), so only what gives back is undone; what removes or turns on stays, as
 * the client asked, because undoing it after a retry saw it would bring back what the user was told is gone (a
 * thief's passkey or authenticator) or turn off what they were told is on. Not undone, then:
 * - `enable`: the authenticator is on; the retried confirm answers `409 OTP_TOTP_ALREADY_ENABLED`, and the recovery
 *   codes nobody saw are replaced by `POST /totp/recovery-codes`;
 * - `disable`, `removePasskey`: removed, as asked (the retry answers that there is nothing to remove);
 * - `replaceRecoveryCodes`: the old codes are dead, as asked; the retry shows new ones;
 * - `savePending` (the retried setup replaces it), `useStep` (a right code, only not answered: the next step's
 *   works), `replaceSecret` (the same secret under a newer key), `renamePasskey`, `usePasskey` (a counter moved
 *   forward), `rebindPasskeys` (the change it belongs to retries it).
 */
export const credentialStoreUndos: Undos<CredentialStore> = {
  // A recovery code spent on a sign-in that was never answered: given back.
  useRecoveryCode: (store, [owner, hash], used) => used ? store.restoreRecoveryCode(owner, hash) : undefined,
  // A passkey the browser was never told was registered: the retried ceremony registers a new one.
  addPasskey: (store, [owner, passkey], added) => added ? store.removePasskey(owner, passkey.id) : undefined
}

/** The callback form: `callback` is called once, with a StoreTimeoutError if the answer takes over `timeoutMs`. */
export function callbackWithin<R> (
  call: string, timeoutMs: number, callback: (err: Error | null, result?: R) => void
): (err: Error | null, result?: R) => void {
  let settled = false
  const timer = setTimeout(() => {
    settled = true
    callback(new StoreTimeoutError(call, timeoutMs))
  }, timeoutMs)
  return (err, result) => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    callback(err, result)
  }
}

/**
 * `store` with every one of `methods` bounded by `timeoutMs` (see `settleWithin`); made once, at registration.
 * A call that succeeds after its deadline is undone on `store` itself (no deadline: nobody waits for it).
 */
function withDeadline<S extends object> (
  store: S, methods: ReadonlyArray<AsyncMethodName<S>>, timeoutMs: number, undos: Undos<S> = {}, log?: LateCallLog
): S {
  const bounded: Record<string, unknown> = {}
  for (const name of methods) {
    const method = store[name] as (...args: unknown[]) => Promise<unknown>
    const timeoutError = (): Error => new StoreTimeoutError(`store.${name}`, timeoutMs)
    const undo = undos[name] as ((store: S, args: unknown[], result: unknown) => Promise<unknown> | undefined) | undefined
    bounded[name] = (...args: unknown[]) => {
      let pending: Promise<unknown>
      try {
        pending = method.apply(store, args)
      } catch (err) {
        // A custom store's method that throws instead of rejecting: the same rejection as an async one's.
        return Promise.reject(err)
      }
      const late = undo === undefined ? undefined : (result: unknown) => { undoLate(`store.${name}`, () => undo(store, args, result), log) }
      return settleWithin(pending, timeoutMs, timeoutError, late)
    }
  }
  return bounded as S
}

function undoLate (call: string, undo: () => Promise<unknown> | undefined, log: LateCallLog | undefined): void {
  let undoing: Promise<unknown> | undefined
  try {
    undoing = undo()
  } catch (err) {
    undoing = Promise.reject(err)
  }
  if (undoing === undefined) return
  undoing.then(
    (done) => {
      log?.warn({ call }, `fastify-otp-login: ${call} answered after storeTimeout (the request got 503): ${done === false ? 'nothing left to undo' : 'undone'}`)
    },
    (err: unknown) => {
      log?.error({ call, err: plainError(err) }, `fastify-otp-login: ${call} answered after storeTimeout (the request got 503) and could not be undone`)
    }
  )
}

export const otpStoreWithDeadline = (store: OtpStore, timeoutMs: number, log?: LateCallLog): OtpStore =>
  withDeadline(store, otpStoreMethods, timeoutMs, otpStoreUndos, log)
export const credentialStoreWithDeadline = (store: CredentialStore, timeoutMs: number, log?: LateCallLog): CredentialStore =>
  withDeadline(store, credentialStoreMethods, timeoutMs, credentialStoreUndos, log)

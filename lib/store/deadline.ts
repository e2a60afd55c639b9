import { plainError } from '../errors.js'
import { setupTtlMs } from '../totp/service.js'
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
 * The undos of `CredentialStore`: what a request answered 503 must not leave behind. Harmless when late, so not
 * undone: `savePending` (the retried setup replaces it), `useStep` (the step's code was a right one, only not
 * answered: the user waits for the next step), `replaceSecret` (the same secret under a newer key),
 * `renamePasskey` and `usePasskey` (a counter moved forward), `rebindPasskeys` (the change it belongs to retries it).
 */
export const credentialStoreUndos: Undos<CredentialStore> = {
  // The client was told the confirm failed and holds no recovery codes: back to pending with the same secret,
  // so the retried confirm works (with new codes). Not atomic: between the two steps the owner has no
  // authenticator, as before the confirm (a pending one protects nothing).
  enable: (store, [owner, secret], enabled) => enabled ? reopenSetup(store, owner, secret) : undefined,
  disable: (store, [owner], removed) => removed === undefined ? undefined : store.restoreTotp(owner, removed),
  useRecoveryCode: (store, [owner, hash], used) => used ? store.restoreRecoveryCode(owner, hash) : undefined,
  // Best effort: the old hashes come back even if another renewal came in between (the store cannot compare).
  replaceRecoveryCodes: (store, [owner], old) => old === undefined ? undefined : store.replaceRecoveryCodes(owner, old),
  addPasskey: (store, [owner, passkey], added) => added ? store.removePasskey(owner, passkey.id) : undefined,
  removePasskey: (store, [owner], removed) => removed === undefined ? undefined : store.addPasskey(owner, removed)
}

async function reopenSetup (store: CredentialStore, owner: string, secret: string): Promise<boolean> {
  const removed = await store.disable(owner)
  if (removed === undefined) return false
  // Something else happened since (a new setup, a disable and a new confirm): that stays as it is.
  if (removed.secret !== secret) return await store.restoreTotp(owner, removed)
  return await store.restoreTotp(owner, { secret, enabled: false, lastStep: -1, recoveryHashes: [], expiresAt: Date.now() + setupTtlMs })
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

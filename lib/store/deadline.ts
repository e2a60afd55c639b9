import { totpStoreMethods, type TotpStore } from './credentials/types.js'
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
 * runs when it wakes, which is why nothing is ever issued on a call that timed out.
 */
function settleWithin<T> (pending: Promise<T>, timeoutMs: number, timeoutError: () => Error): Promise<T> {
  // One promise and one timer per call, no race: this wraps every store call of every request.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { reject(timeoutError()) }, timeoutMs)
    Promise.resolve(pending).then(
      (value) => { clearTimeout(timer); resolve(value) },
      (err: unknown) => { clearTimeout(timer); reject(err) }
    )
  })
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

/** `store` with every one of `methods` bounded by `timeoutMs` (see `settleWithin`); made once, at registration. */
function withDeadline<S extends object> (store: S, methods: ReadonlyArray<AsyncMethodName<S>>, timeoutMs: number): S {
  const bounded: Record<string, unknown> = {}
  for (const name of methods) {
    const method = store[name] as (...args: unknown[]) => Promise<unknown>
    const timeoutError = (): Error => new StoreTimeoutError(`store.${name}`, timeoutMs)
    bounded[name] = (...args: unknown[]) => {
      let pending: Promise<unknown>
      try {
        pending = method.apply(store, args)
      } catch (err) {
        // A custom store's method that throws instead of rejecting: the same rejection as an async one's.
        return Promise.reject(err)
      }
      return settleWithin(pending, timeoutMs, timeoutError)
    }
  }
  return bounded as S
}

export const otpStoreWithDeadline = (store: OtpStore, timeoutMs: number): OtpStore => withDeadline(store, otpStoreMethods, timeoutMs)
export const totpStoreWithDeadline = (store: TotpStore, timeoutMs: number): TotpStore => withDeadline(store, totpStoreMethods, timeoutMs)

import type { TotpStore } from './credentials/types.js'
import { totpStoreMethods } from './credentials/types.js'
import type { CodeStore } from './codes/types.js'
import { codeStoreMethods } from './codes/types.js'
import type { SessionStore } from './sessions/types.js'
import { sessionStoreMethods } from './sessions/types.js'

export type {
  BudgetResult, ChallengeResult, CodeStore, FailurePolicy, GuessResult, IssuePolicy, IssueResult, VerifyPolicy, VerifyResult
} from './codes/types.js'
export type { EndResult, EndScope, NewSession, RotateResult, SessionEnd, SessionInfo, SessionPolicy, SessionStore } from './sessions/types.js'
export { PARKED_MS, SPENT_KEPT } from './sessions/types.js'

/**
 * What the `store` option takes: the short-lived state of sign-ins, codes and counters (`CodeStore`) and
 * sessions (`SessionStore`). `MemoryStore` and `RedisStore` are both; a custom store implements both
 * interfaces, in one object.
 */
export interface OtpStore extends CodeStore, SessionStore {
  /** Called on the app's `onClose` for stores the plugin created itself. */
  close? (): Promise<void>
}

/** Every method of `OtpStore` but the optional `close`: what a custom store is checked for, and what a deadline bounds. */
export const otpStoreMethods = [...codeStoreMethods, ...sessionStoreMethods] as const

export function isOtpStore (value: unknown): value is OtpStore {
  const store = value as Partial<OtpStore> | null
  return typeof store === 'object' && store !== null && otpStoreMethods.every((name) => typeof store[name] === 'function')
}

export type AsyncMethodName<S> = {
  [K in keyof S]-?: S[K] extends ((...args: never[]) => Promise<unknown>) | undefined ? K : never
}[keyof S] & string

// A method added to a store interface but not to its list would escape the deadline (and the check of a custom
// store): this fails to compile, naming it.
type Unlisted =
  | Exclude<AsyncMethodName<OtpStore>, typeof otpStoreMethods[number] | 'close'>
  | Exclude<AsyncMethodName<TotpStore>, typeof totpStoreMethods[number]>
// eslint-disable-next-line @typescript-eslint/no-unused-vars
const unlisted: Record<Unlisted, never> = {}

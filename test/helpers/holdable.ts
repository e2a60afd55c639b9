import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'

/** A store held, and what lets it go. */
export interface Holdable<S> {
  store: S
  /** From now on, calls wait (only those of `only`, if given), as on a frozen Redis. */
  hold: (only?: string[]) => void
  /** The waiting calls run, in the order they came. */
  release: () => void
}

/**
 * A store whose calls wait while it is held, then run in the order they came: a frozen Redis, for any store.
 * `methods`: the store's methods (otpStoreMethods, credentialStoreMethods).
 */
export function holdable<S extends object> (inner: S, methods: readonly string[]): Holdable<S> {
  let gate: { held: Promise<void>, open: () => void, only: string[] | undefined } | undefined
  const store: Record<string, unknown> = {}
  for (const name of methods) {
    const method = (inner as Record<string, unknown>)[name] as (...args: unknown[]) => Promise<unknown>
    store[name] = async (...args: unknown[]): Promise<unknown> => {
      if (gate !== undefined && (gate.only === undefined || gate.only.includes(name))) await gate.held
      return await method.apply(inner, args)
    }
  }
  return {
    store: store as S,
    hold: (only) => {
      let open = (): void => {}
      const held = new Promise<void>((resolve) => { open = resolve })
      gate = { held, open, only }
    },
    release: () => {
      gate?.open()
      gate = undefined
    }
  }
}

/**
 * Waits (for real I/O: the late answers, then their undos) until `count` late calls of `method` were undone, as
 * the store deadline says in the app's log (`logs`); and nothing could not be undone.
 */
export async function lateCallsUndone (t: Test, logs: string[], method: string, count: number): Promise<void> {
  const undone = (): number => logs.filter((line) => line.includes(`store.${method} answered after storeTimeout (the request got 503): undone`)).length
  for (let i = 0; i < 1000 && undone() < count; i++) await sleep(10)
  t.equal(undone(), count, `${count} late ${method} call(s) undone`)
  t.notMatch(logs.join(''), /could not be undone/)
}

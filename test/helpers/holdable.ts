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

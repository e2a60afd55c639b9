interface Tap {
  teardown: (fn: () => unknown) => void
}

/**
 * Records every unhandled rejection and uncaught exception in this process until the test ends, so a test
 * can assert that none happened (instead of the process dying, or tap blaming a later test).
 */
export function recordFaults (t: Tap): unknown[] {
  const faults: unknown[] = []
  const record = (err: unknown): void => { faults.push(err) }
  process.on('unhandledRejection', record)
  process.on('uncaughtException', record)
  t.teardown(() => {
    process.off('unhandledRejection', record)
    process.off('uncaughtException', record)
  })
  return faults
}

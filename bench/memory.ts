// Does the MemoryStore give its memory back? Issues a code to each of a million distinct numbers, moves an
// injected clock past every expiry, sweeps, and compares the heap after a full GC with where it started.
// Run with --expose-gc; bench/run.ts forks it and gets the result over IPC (alone, it prints it).
import { createHmac, randomInt } from 'node:crypto'
import { setImmediate as tick } from 'node:timers/promises'
import { otp } from './package.js'

interface Heap { heapUsed: number, external: number, size: number }
export interface MemoryResult {
  identifiers: number
  issueSeconds: number
  start: Heap
  peak: Heap
  end: Heap
}

// The plugin's defaults: a code lives 10 minutes, the send window an hour, 30 s between two codes.
const policy = { codeTtlMs: 600_000, maxSends: 3, windowMs: 3_600_000, resendIntervalMs: 30_000 }
const secret = 'bench-code-secret-that-is-long-enough-000'

async function settle (store: InstanceType<typeof otp.MemoryStore>): Promise<Heap> {
  const gc = globalThis.gc
  if (!gc) throw new Error('run with node --expose-gc')
  for (let i = 0; i < 3; i++) {
    gc()
    await tick()
  }
  const usage = process.memoryUsage()
  return { heapUsed: usage.heapUsed, external: usage.external, size: store.size }
}

export async function measureMemory (identifiers: number): Promise<MemoryResult> {
  let now = 1_767_225_600_000
  // No timer sweeps: the test calls sweep() itself, at a time it chooses.
  const store = new otp.MemoryStore({ now: () => now, sweepInterval: 2 ** 31 - 1 })
  const start = await settle(store)

  const began = process.hrtime.bigint()
  for (let i = 0; i < identifiers; i++) {
    const phone = `+91${9_000_000_000 + i}`
    // What the plugin stores: the code's HMAC, as lib/codes.ts makes it.
    const codeHash = createHmac('sha256', secret).update(`${phone}:${randomInt(0, 1e6)}`).digest('base64url')
    const result = await store.issueCode(phone, codeHash, policy)
    if (result.status !== 'issued') throw new Error(`${phone}: ${result.status}`)
    now += 1 // a million issues take a while: the last expires well after the first
  }
  const issueSeconds = Number(process.hrtime.bigint() - began) / 1e9
  const peak = await settle(store)

  now += policy.windowMs + 1
  store.sweep()
  const end = await settle(store)
  await store.close()
  return { identifiers, issueSeconds, start, peak, end }
}

if (require.main === module) {
  measureMemory(Number(process.argv[2] ?? 1_000_000)).then(
    (result) => {
      if (process.send) process.send(result)
      else console.log(JSON.stringify(result, null, 2))
    },
    (err: unknown) => {
      console.error(err)
      process.exitCode = 1
    }
  )
}

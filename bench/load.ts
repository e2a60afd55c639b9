// The load side: a server process to drive, and the load-generator processes (autocannon) that drive it.
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import autocannon from 'autocannon'
import type { Command, Ready, Reply, ServerKind } from './server.js'

/** A bench/server.ts process; `call` sends it one command and waits for its answer. */
export class BenchServer {
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void, reject: (err: Error) => void }>()
  private nextId = 0

  private constructor (readonly kind: ServerKind, readonly port: number, private readonly child: ChildProcess) {
    child.on('message', (message: Reply) => {
      const waiter = this.waiting.get(message.id)
      this.waiting.delete(message.id)
      if (message.error !== undefined) waiter?.reject(new Error(`${kind} server: ${message.error}`))
      else waiter?.resolve(message.result)
    })
    child.once('exit', (code) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`${kind} server exited (${code})`))
      this.waiting.clear()
    })
  }

  /** A server of `kind` on the package built in `dist`. */
  static async start (kind: ServerKind, redisPort: number, dist: string): Promise<BenchServer> {
    const child = fork(join(__dirname, 'server.js'), [kind, String(redisPort), dist], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    const [message] = await Promise.race([
      once(child, 'message') as Promise<[Ready]>,
      once(child, 'exit').then(([code]) => { throw new Error(`${kind} server exited (${String(code)}) before it was ready`) })
    ])
    return new BenchServer(kind, message.port, child)
  }

  async call<T = unknown>(command: Command): Promise<T> {
    const id = this.nextId++
    const answer = new Promise<unknown>((resolve, reject) => this.waiting.set(id, { resolve, reject }))
    this.child.send({ ...command, id })
    return await answer as T
  }

  async close (): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = once(this.child, 'exit')
    await this.call({ op: 'close' }).catch(() => this.child.kill('SIGKILL'))
    await exited
  }

  kill (): void {
    this.child.kill('SIGKILL')
  }
}

/** A request body per request: a new number each (made by the generator), or each of a list once. */
export type Body =
  | { kind: 'phones', otp?: string }
  /** Bodies to send once each; the load stops early when they run out. What is left stays here for the next load. */
  | { kind: 'pool', bodies: string[] }

/** What to send: a fixed request, or one whose body or bearer token changes with every request. */
export interface Target {
  method: 'GET' | 'POST'
  path: string
  headers?: Record<string, string>
  body?: Body
  /** Bearer tokens to send in turn: each generator cycles through a share of its own. */
  tokens?: string[]
}

/** The fields of autocannon's per-run result (with `skipAggregateResult`) that the bench reads. */
export interface RawResult {
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  '2xx': number
}

export type GeneratorCommand =
  | {
    op: 'load'
    port: number
    connections: number
    seconds: number
    method: Target['method']
    path: string
    headers?: Record<string, string>
    body?: { kind: 'phones', otp?: string } | { kind: 'list', bodies: string[] }
    tokens?: string[]
  }
  | { op: 'close' }

export interface GeneratorResult {
  raw: RawResult
  /** Requests sent with an empty body after the bodies ran out (each a 400, not a failure of the server). */
  spare: number
  /** Bodies of the list sent. */
  used: number
  /** CPU time of the generator process during the load (user + system), and the load's wall time. */
  cpuMicros: number
  seconds: number
  /**
   * The share of the load's time its event loop was busy (not waiting for the server): near 1, it set the pace,
   * even when a busy machine gave it too little CPU for that to show in `cpuMicros`.
   */
  loopBusy: number
}
export interface GeneratorReady { ready: true }
export interface GeneratorReply { id: number, result?: GeneratorResult, error?: string }

export interface LoadResult {
  /** One per generator process, all run at the same time. */
  raws: RawResult[]
  spare: number
  /** Each generator process's CPU time during the load, and the load's wall time. */
  cpuMicros: number[]
  seconds: number[]
  loopBusy: number[]
}

/** A bench/generator.ts process. */
class Generator {
  private readonly waiting = new Map<number, { resolve: (value: GeneratorResult) => void, reject: (err: Error) => void }>()
  private nextId = 0

  constructor (readonly index: number, private readonly child: ChildProcess) {
    child.on('message', (message: GeneratorReply) => {
      const waiter = this.waiting.get(message.id)
      this.waiting.delete(message.id)
      if (message.result !== undefined) waiter?.resolve(message.result)
      else waiter?.reject(new Error(`load generator ${index}: ${message.error ?? 'no result'}`))
    })
    child.once('exit', (code) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`load generator ${index} exited (${code})`))
      this.waiting.clear()
    })
  }

  async load (command: Extract<GeneratorCommand, { op: 'load' }>): Promise<GeneratorResult> {
    const id = this.nextId++
    const answer = new Promise<GeneratorResult>((resolve, reject) => this.waiting.set(id, { resolve, reject }))
    this.child.send({ ...command, id })
    return await answer
  }

  async close (): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = once(this.child, 'exit')
    this.child.send({ op: 'close' } satisfies GeneratorCommand)
    await exited
  }

  kill (): void {
    this.child.kill('SIGKILL')
  }
}

/**
 * The load generators: `count` autocannon processes of their own (not the orchestrator, whose event loop it would
 * share, and not autocannon's `workers`, threads of one process whose CPU time cannot be told apart), each driving
 * its share of the connections at the same time.
 */
export class LoadGenerators {
  private constructor (private readonly generators: Generator[]) {}

  get count (): number {
    return this.generators.length
  }

  static async start (count: number): Promise<LoadGenerators> {
    const generators = await Promise.all(Array.from({ length: count }, async (_, index) => {
      const child = fork(join(__dirname, 'generator.js'), [String(index)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      await Promise.race([
        once(child, 'message'),
        once(child, 'exit').then(([code]) => { throw new Error(`load generator ${index} exited (${String(code)}) before it was ready`) })
      ])
      return new Generator(index, child)
    }))
    return new LoadGenerators(generators)
  }

  /** Drives `port` with `connections` keep-alive connections in all for `seconds`; autocannon stops by itself. */
  async load (port: number, target: Target, seconds: number, connections: number): Promise<LoadResult> {
    const n = this.generators.length
    const { body, tokens } = target
    const share = <T>(list: T[], i: number): T[] => list.slice(Math.floor(i * list.length / n), Math.floor((i + 1) * list.length / n))
    // A pool is dealt out in contiguous shares; what a generator leaves goes back to the pool.
    const shares = body?.kind === 'pool' ? Array.from({ length: n }, (_, i) => share(body.bodies, i)) : undefined
    const results = await Promise.all(this.generators.map(async (generator, i) => await generator.load({
      op: 'load',
      port,
      connections: Math.floor(connections / n) + (i < connections % n ? 1 : 0),
      seconds,
      method: target.method,
      path: target.path,
      ...(target.headers ? { headers: target.headers } : {}),
      ...(body === undefined ? {} : { body: shares ? { kind: 'list', bodies: shares[i] ?? [] } : body as { kind: 'phones', otp?: string } }),
      // Tokens are dealt out the same way, and each generator's share is its own: no user is on two of them.
      ...(tokens === undefined ? {} : { tokens: share(tokens, i) })
    })))
    if (body?.kind === 'pool' && shares) {
      body.bodies.length = 0
      shares.forEach((share, i) => { for (const left of share.slice(results[i]?.used ?? 0)) body.bodies.push(left) })
    }
    return {
      raws: results.map((r) => r.raw),
      spare: results.reduce((total, r) => total + r.spare, 0),
      cpuMicros: results.map((r) => r.cpuMicros),
      seconds: results.map((r) => r.seconds),
      loopBusy: results.map((r) => r.loopBusy)
    }
  }

  async close (): Promise<void> {
    await Promise.all(this.generators.map(async (generator) => await generator.close()))
  }

  kill (): void {
    for (const generator of this.generators) generator.kill()
  }
}

/** The slices of one scenario as one result: latency percentiles over all their requests. */
export function aggregate (raws: RawResult[], connections: number): autocannon.Result {
  const { aggregateResult } = autocannon as unknown as {
    aggregateResult: (results: RawResult[], opts: { url: string, connections: number }) => autocannon.Result
  }
  // The URL only labels the result; autocannon asks for one.
  return aggregateResult(raws, { url: 'http://127.0.0.1', connections })
}

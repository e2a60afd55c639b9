// The load side: a server process to drive, and autocannon to drive it.
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

  static async start (kind: ServerKind, redisPort: number): Promise<BenchServer> {
    const child = fork(join(__dirname, 'server.js'), [kind, String(redisPort)], {
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

/** What to send: a fixed request, or one whose body changes with every request. */
export interface Target {
  method: 'GET' | 'POST'
  path: string
  headers?: Record<string, string>
  /** The next request's body; undefined when there is none left (the load stops early). */
  nextBody?: () => string | undefined
}

/** The fields of autocannon's per-run result (with `skipAggregateResult`) that the bench reads. */
export interface RawResult {
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  '2xx': number
}

export interface LoadResult {
  raw: RawResult
  /** Requests sent with an empty body after the bodies ran out (each a 400, not a failure of the server). */
  spare: number
}

/** Drives `port` with `connections` keep-alive connections for `seconds`; autocannon stops by itself. */
export async function load (port: number, target: Target, seconds: number, connections: number): Promise<LoadResult> {
  let instance: autocannon.Instance | undefined
  let spare = 0
  const { nextBody } = target
  const request: autocannon.Request = {
    method: target.method,
    path: target.path,
    headers: { ...(target.method === 'POST' ? { 'content-type': 'application/json' } : {}), ...target.headers },
    ...(nextBody
      ? {
          setupRequest: (req: autocannon.Request) => {
            const body = nextBody()
            if (body !== undefined) return { ...req, body }
            // autocannon needs a request here: send an empty body (a 400) and stop.
            if (spare++ === 0) setImmediate(() => instance?.stop())
            return { ...req, body: '{}' }
          }
        }
      : {})
  }
  const raw = await new Promise<RawResult>((resolve, reject) => {
    instance = autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      pipelining: 1,
      duration: seconds,
      requests: [request],
      // Raw results (latency histograms included), so that the slices of one scenario can be added up.
      skipAggregateResult: true
    }, (err, res) => { if (err) reject(err); else resolve(res as unknown as RawResult) })
  })
  return { raw, spare }
}

/** The slices of one scenario as one result: latency percentiles over all their requests. */
export function aggregate (raws: RawResult[], connections: number): autocannon.Result {
  const { aggregateResult } = autocannon as unknown as {
    aggregateResult: (results: RawResult[], opts: { url: string, connections: number }) => autocannon.Result
  }
  // The URL only labels the result; autocannon asks for one.
  return aggregateResult(raws, { url: 'http://127.0.0.1', connections })
}

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis, type RedisOptions } from 'ioredis'

const running = new Set<ChildProcess>()
process.on('exit', () => { for (const child of running) child.kill('SIGKILL') })

async function listenOnce (port: number): Promise<number | undefined> {
  const server = createServer()
  server.listen(port, '127.0.0.1')
  try {
    await once(server, 'listening')
  } catch {
    return undefined
  }
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/**
 * A port that was free on 127.0.0.1 a moment ago. With `busPort`, port + 10000 was free too: a Cluster node
 * listens there for the other nodes.
 */
export async function freePort ({ busPort = false }: { busPort?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(0)
    if (port === undefined) continue
    if (!busPort) return port
    if (port + 10000 <= 65535 && await listenOnce(port + 10000) !== undefined) return port
  }
  throw new Error('no free port')
}

async function answersPing (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.setTimeout(200)
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => { socket.destroy(); resolve(data.toString().startsWith('+PONG')) })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
  })
}

/** Fail-fast client settings, as the README recommends: a down Redis answers at once instead of queueing. */
export const failFast: RedisOptions = {
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  connectTimeout: 1000,
  retryStrategy: (times) => Math.min(times * 50, 300)
}

export interface RedisServerOptions {
  /** More redis-server arguments, e.g. `['--replicaof', '127.0.0.1', '7001']` or `['--cluster-enabled', 'yes']`. */
  args?: string[]
  /** Run as a Sentinel with these configuration lines (Sentinel rewrites its configuration file, so it gets one). */
  sentinel?: string[]
  /** Keep the port + 10000 free as well, for a Cluster node's bus. */
  busPort?: boolean
}

/**
 * A throwaway redis-server on a free loopback port, with no persistence, in a temporary folder.
 * Never the default port, never a server the tests did not start.
 */
export class RedisServer {
  private child: ChildProcess | undefined
  private readonly clients = new Set<Redis>()

  private constructor (readonly port: number, readonly dir: string, private readonly options: RedisServerOptions) {}

  static async start (options: RedisServerOptions = {}): Promise<RedisServer> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const server = new RedisServer(await freePort({ busPort: options.busPort }), mkdtempSync(join(tmpdir(), 'otp-redis-')), options)
      if (options.sentinel) writeFileSync(join(server.dir, 'sentinel.conf'), options.sentinel.join('\n') + '\n')
      if (await server.spawn()) return server
      rmSync(server.dir, { recursive: true, force: true })
    }
    throw new Error('could not start redis-server on a free port (is redis-server installed?)')
  }

  /** Starts (or restarts) the server on its port; false when it could not, e.g. the port was taken. */
  async spawn (): Promise<boolean> {
    const child = spawn('redis-server', [
      ...(this.options.sentinel ? [join(this.dir, 'sentinel.conf'), '--sentinel'] : []),
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.dir, '--loglevel', 'warning', '--protected-mode', 'yes',
      ...(this.options.args ?? [])
    ], { stdio: 'ignore' })
    running.add(child)
    const state = { exited: false }
    child.once('exit', () => { state.exited = true; running.delete(child) })
    for (let i = 0; i < 100 && !state.exited; i++) {
      if (await answersPing(this.port)) {
        this.child = child
        return true
      }
      await sleep(50)
    }
    child.kill('SIGKILL')
    return false
  }

  /** Stops the server process, keeping its port for `spawn()`. */
  async kill (): Promise<void> {
    const child = this.child
    if (child === undefined) return
    this.child = undefined
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
  }

  /**
   * Freezes the server (SIGSTOP): its connections stay open and nothing answers, as with a hung host or a
   * partition. `resume()` (SIGCONT) lets it run on; `kill()` and `stop()` end it either way.
   */
  pause (): void {
    if (this.child === undefined) throw new Error('redis-server is not running')
    this.child.kill('SIGSTOP')
  }

  resume (): void {
    this.child?.kill('SIGCONT')
  }

  /** A connected ioredis client with fail-fast settings; closed by `stop()`. */
  async client (options: RedisOptions = {}): Promise<Redis> {
    const client = new Redis({ host: '127.0.0.1', port: this.port, ...failFast, ...options })
    client.on('error', () => {}) // connection errors are expected in outage tests; commands still reject
    this.clients.add(client)
    if (client.status !== 'ready') await once(client, 'ready')
    return client
  }

  async stop (): Promise<void> {
    for (const client of this.clients) client.disconnect()
    this.clients.clear()
    await this.kill()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

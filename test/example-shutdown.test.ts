import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { Agent, get, request } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { SendArgs } from '../lib/index.js'
import { CODE_SECRET, JWT_SECRET } from './helpers/app.js'
import { RedisServer } from './helpers/redis.js'

const phone = '+919876543210'

interface LogLine { msg?: string, url?: string, [field: string]: unknown }

/**
 * POST on a keep-alive connection, with the body split in two: the request is in flight at the server until
 * `finish()` is called.
 */
function slowPost (url: string, payload: object, agent: Agent): { finish: () => void, response: Promise<{ status: number, body: string }> } {
  const body = JSON.stringify(payload)
  const req = request(url, {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
  })
  const response = new Promise<{ status: number, body: string }>((resolve, reject) => {
    req.on('error', reject)
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      res.on('error', reject)
    })
  })
  req.write(body.slice(0, 5))
  return { finish: () => req.end(body.slice(5)), response }
}

/** Whether a new connection is still served: the status of a GET on it, or the connection error's code. */
async function probe (url: string): Promise<number | string> {
  return await new Promise((resolve) => {
    get(url, { agent: false }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    }).on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
}

t.test('example server on SIGTERM: refuses new requests, finishes the one in flight, closes Redis, exits 0', async (t) => {
  const redis = await RedisServer.start({ args: ['--appendonly', 'yes'] })
  t.teardown(() => redis.stop())
  const dir = mkdtempSync(join(tmpdir(), 'otp-example-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const child = spawn(process.execPath, [join(__dirname, '..', 'example-app', 'server.mjs')], {
    env: {
      ...process.env,
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: '0',
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      OTP_CODE_SECRET: CODE_SECRET,
      JWT_SECRET,
      CREDENTIALS_FILE: join(dir, 'credentials.sqlite') // its SQLite file closes too; none in the repo
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const killChild = (): void => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') }
  process.on('exit', killChild) // also if this test process dies
  t.teardown(() => { process.off('exit', killChild); killChild() })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>

  // The server logs JSON lines; consoleSender prints the code as plain text.
  const lines: Array<LogLine | string> = []
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const waiters: Array<() => void> = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as LogLine)
    } catch {
      lines.push(line)
    }
    for (const wake of waiters.splice(0)) wake()
  })
  const waitForLine = async (match: (line: LogLine | string) => boolean): Promise<LogLine | string> => {
    for (;;) {
      const found = lines.find(match)
      if (found !== undefined) return found
      await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), exited.then(() => {
        throw new Error(`the server exited early:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\n${stderr}`)
      })])
    }
  }
  const logged = (msg: RegExp) => (line: LogLine | string) => typeof line === 'object' && msg.test(line.msg ?? '')

  const listening = await waitForLine(logged(/^Server listening at /)) as LogLine
  const base = (listening.msg ?? '').replace('Server listening at ', '')
  t.equal(await probe(base + '/'), 200, 'serving')

  const agent = new Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  const inFlight = slowPost(`${base}/api/auth/login`, { phone }, agent)
  await waitForLine((line) => typeof line === 'object' && line.msg === 'incoming request' &&
    (line.req as { url?: string } | undefined)?.url === '/api/auth/login')
  child.kill('SIGTERM')
  await waitForLine(logged(/^SIGTERM: closing/))

  let refused: number | string = 200
  for (let i = 0; i < 100 && refused === 200; i++) refused = await probe(base + '/')
  t.ok(['ECONNREFUSED', 'ECONNRESET', 503].includes(refused), `a new connection is not served (${refused})`)
  t.equal(child.exitCode, null, 'still running while a request is in flight')

  inFlight.finish()
  const answer = await inFlight.response
  t.equal(answer.status, 200, 'the request in flight finished')
  t.same(JSON.parse(answer.body), { message: 'OTP sent', expiresIn: 600, resendIn: 30 })
  t.ok(lines.some((line) => typeof line === 'string' && line.includes(phone)), 'its code went out')
  const admin = await redis.client()
  t.ok(await admin.exists(`otp:{${phone}}:code`), 'and is in Redis')

  const [code, signal] = await exited
  t.same({ code, signal }, { code: 0, signal: null }, 'the process exited 0 on its own, within 10 s: nothing left open')
  t.ok(lines.some(logged(/^closed$/)))
})

t.test('buildExampleApp on close: requests in flight finish, new ones are turned away, then Redis disconnects', async (t) => {
  const redis = await RedisServer.start({ args: ['--appendonly', 'yes'] })
  t.teardown(() => redis.stop())
  const admin = await redis.client()
  const connections = async (): Promise<number> => (await admin.client('LIST') as string).trim().split('\n').length
  /** The count once it reaches `expected` (the session cache's subscriber connects on its own, a moment later). */
  const connectionsReach = async (expected: number): Promise<number> => {
    for (let i = 0; i < 50 && await connections() !== expected; i++) await new Promise((resolve) => setTimeout(resolve, 40))
    return await connections()
  }

  process.env.OTP_CODE_SECRET = CODE_SECRET
  t.teardown(() => { delete process.env.OTP_CODE_SECRET })
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const sending: string[] = []
  let allSending: () => void = () => {}
  const threeSending = new Promise<void>((resolve) => { allSending = resolve })
  const send = async ({ to }: SendArgs): Promise<void> => {
    sending.push(to)
    if (sending.length === 3) allSending()
    await gate // a slow SMS provider
  }
  const examplePath = '../example-app/app.mjs' // a plain .mjs file: no types to resolve
  const { buildExampleApp } = await import(examplePath) as {
    buildExampleApp: (o: { redisUrl: string, send: (a: SendArgs) => Promise<void>, logger: boolean }) => Promise<FastifyInstance>
  }
  const app = await buildExampleApp({ redisUrl: `redis://127.0.0.1:${redis.port}`, send, logger: false })
  t.teardown(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  // The test's own, the app's client, and the subscriber of the app's session cache (a duplicate of it).
  t.equal(await connectionsReach(3), 3, "the app's Redis connections are open")

  // Keep-alive connections (fetch's default), so a later request can still reach the closing server.
  const post = async (body: object): Promise<number | string> => {
    try {
      const res = await fetch(`${base}/api/auth/login`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
      })
      await res.arrayBuffer()
      return res.status
    } catch (err) {
      return String((err as { cause?: { code?: string } }).cause?.code ?? err)
    }
  }
  const inFlight = ['+919876543210', '+919876543211', '+919876543212'].map((phone) => post({ phone }))
  await threeSending
  const closed = app.close()
  let isClosed = false
  closed.then(() => { isClosed = true }, () => {})

  const late = await post({ phone: '+919876543213' })
  t.ok(['ECONNREFUSED', 'ECONNRESET', 503].includes(late), `a request after close began is not served (${late})`)
  t.notOk(isClosed, 'close waits for the requests in flight')
  t.equal(await connections(), 3, 'Redis stays connected while they run')

  release()
  t.same(await Promise.all(inFlight), [200, 200, 200], 'all three finished')
  const released = Date.now()
  await closed
  // Their keep-alive connections close with the response, not after keepAliveTimeout (72 s).
  t.ok(Date.now() - released < 5000, `close() resolved ${Date.now() - released} ms after they finished`)
  t.equal(await connectionsReach(1), 1, "then the app's Redis connections are closed")
  t.same(sending, ['+919876543210', '+919876543211', '+919876543212'], 'the late request sent nothing')
})

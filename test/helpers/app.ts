import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import type { Redis } from 'ioredis'
import tap from 'tap'
import otpLogin, { type OtpLoginOptions, type SendArgs } from '../../lib/index.js'
import { RedisCluster } from './cluster.js'
import { RedisServer } from './redis.js'

export const JWT_SECRET = 'test-jwt-secret-that-is-long-enough-000'
export const CODE_SECRET = 'test-code-secret-that-is-long-enough-00'

export type StoreKind = 'memory' | 'redis' | 'cluster'
export const storeKinds: StoreKind[] = ['memory', 'redis']
/** With a 3-master Redis Cluster too (started once per test file, on first use). */
export const everyStore: StoreKind[] = ['memory', 'redis', 'cluster']

export interface TestApp {
  app: FastifyInstance
  /** Every send, in order, as the plugin made it. */
  sent: Array<Omit<SendArgs, 'request'>>
  /** The last code sent to `identifier`. */
  codeFor: (identifier: string) => string
  login: (phone: string, ip?: string) => Promise<LightMyRequestResponse>
  verify: (phone: string, otp: string, ip?: string) => Promise<LightMyRequestResponse>
  /** An access token for `identifier`, through /login and /verify-otp; throws unless the verify answers 200. */
  accessFor: (identifier: string) => Promise<string>
}

interface Tap {
  teardown: (fn: () => unknown) => void
}

let shared: Promise<RedisServer> | undefined

/**
 * The args of a redis-server that keeps its data (AOF), which the plugin's default credential store requires
 * (`RedisCredentialStore.init` refuses a Redis that would drop credentials).
 */
export const persistentRedisArgs = ['--appendonly', 'yes', '--appendfsync', 'no']

/** One redis-server per test file, started on first use and stopped when the file's tests have ended; persistent. */
export async function sharedRedis (): Promise<RedisServer> {
  if (shared === undefined) {
    const starting = RedisServer.start({ args: persistentRedisArgs })
    shared = starting
    tap.teardown(async () => { await (await starting).stop() })
  }
  return await shared
}

let sharedClusterStart: Promise<RedisCluster> | undefined

/** A client of one Redis Cluster per test file, emptied first; stopped when the file's tests have ended. */
export async function freshCluster (): Promise<Awaited<ReturnType<RedisCluster['client']>>> {
  if (sharedClusterStart === undefined) {
    const starting = RedisCluster.start()
    sharedClusterStart = starting
    tap.teardown(async () => { await (await starting).stop() })
  }
  const cluster = await sharedClusterStart
  await cluster.flush()
  return await cluster.client()
}

/** A client of the shared server, on a database emptied first (the server is the tests' own). */
export async function freshRedis (): Promise<Redis> {
  const client = await (await sharedRedis()).client()
  await client.flushall()
  return client
}

/**
 * Builds an app with the plugin on the chosen store, a recording sender, rate limits off unless asked for,
 * a protected `GET /me` and an open `GET /health`. Closed by the test's teardown.
 */
export async function buildApp (t: Tap, kind: StoreKind, options: Partial<OtpLoginOptions> = {}, logs?: string[]): Promise<TestApp> {
  const sent: TestApp['sent'] = []
  // With `logs`, every log line (JSON, level info and up) is collected there.
  const app = Fastify(logs ? { logger: { level: 'info', stream: { write: (line: string) => { logs.push(line) } } } } : {})
  const storeOptions: Partial<OtpLoginOptions> = kind === 'redis'
    ? { redis: await freshRedis(), codeSecret: CODE_SECRET }
    : kind === 'cluster' ? { redis: await freshCluster(), codeSecret: CODE_SECRET } : {}
  await app.register(otpLogin, {
    jwt: { secret: JWT_SECRET },
    rateLimit: false,
    send: ({ channel, to, code, expiresIn }) => { sent.push({ channel, to, code, expiresIn }) },
    ...storeOptions,
    ...options
  })
  app.get('/me', { onRequest: [app.authenticate] }, async (request) => request.user)
  app.get('/health', async () => ({ ok: true }))
  t.teardown(async () => { await app.close() })
  await app.ready()

  const codeFor = (identifier: string): string => {
    const last = sent.filter((s) => s.to === identifier).at(-1)
    if (last === undefined) throw new Error(`no code was sent to ${identifier}`)
    return last.code
  }
  const login = async (identifier: string, ip = '127.0.0.1') =>
    await app.inject({ method: 'POST', url: '/login', payload: field(identifier), remoteAddress: ip })
  const verify = async (identifier: string, otp: string, ip = '127.0.0.1') =>
    await app.inject({ method: 'POST', url: '/verify-otp', payload: { ...field(identifier), otp }, remoteAddress: ip })
  const accessFor = async (identifier: string): Promise<string> => {
    await login(identifier)
    const res = await verify(identifier, codeFor(identifier))
    if (res.statusCode !== 200) throw new Error(`could not log in ${identifier}: ${res.body}`)
    return res.json().access
  }
  return { app, sent, codeFor, login, verify, accessFor }
}

/** The body field for an identifier: `email` for anything with an @, else `phone`. */
export function field (identifier: string): { phone: string } | { email: string } {
  return identifier.includes('@') ? { email: identifier } : { phone: identifier }
}

export type IdentifierKind = 'phone' | 'email'
export const identifierKinds: IdentifierKind[] = ['phone', 'email']

/** Three distinct identifiers of a kind, the channel codes go out on, and the options that enable it. */
export function identifiers (kind: IdentifierKind) {
  return kind === 'phone'
    ? { a: '+919876543210', b: '+919876543211', c: '+919876543212', claim: 'phone', channel: 'sms', options: {} } as const
    : { a: 'ana@example.com', b: 'bo@example.com', c: 'cy@example.org', claim: 'email', channel: 'email', options: { identifierKinds: ['phone', 'email'] } } as const
}

/** A code of the right shape that is not `code`. */
export function wrongCode (code: string): string {
  return code.split('').map((d) => String((Number(d) + 1) % 10)).join('')
}

/** Puts an environment variable back as it was (`undefined`: unset, not the string "undefined"). */
export function restoreEnv (name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name]
  else process.env[name] = value
}

/** The payload of a JWT, read without checking it (tests look at what the plugin put in). */
export function claims (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString())
}

/** Registers the plugin with `options` on a fresh app and waits for ready; rejects as app.ready() does. */
export async function readyWith (options: Record<string, unknown>): Promise<void> {
  const app = Fastify()
  try {
    await app.register(otpLogin, options as unknown as OtpLoginOptions)
    await app.ready()
  } finally {
    await app.close()
  }
}

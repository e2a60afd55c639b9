// One server under load, in a process of its own so that it never shares an event loop with the load generator.
// Started by bench/run.ts with `[kind, redisPort, dist]` as arguments (dist: the build to load, this one's or the
// one it is compared with); answers the orchestrator over IPC.
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Session } from 'node:inspector'
import fastifyJwt from '@fastify/jwt'
import Database from 'better-sqlite3'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { Kysely, PostgresDialect, SqliteDialect, type LogEvent } from 'kysely'
import pg from 'pg'
import { failFast } from '../test/helpers/redis.js'
import { SoftAuthenticator } from '../test/helpers/webauthn.js'
import { ownDist, packageAt } from './package.js'

/**
 * bare: Fastify alone; evalsha: one EVALSHA per request; memory / redis: the plugin on that store; jwt: the redis
 * app with a `GET /me` that only runs @fastify/jwt's `request.jwtVerify()` instead of `app.authenticate`;
 * nosession: the redis app with `refreshTokenTtl: false` (access tokens only, no session script); nocache: the
 * redis app with `sessionCache: false` (every session check asks Redis); passkeys / memory-passkeys: the redis /
 * memory app with `passkeys` on (only this build: a compared build may not have them); sqlite / postgres: the redis app with
 * authenticators on (`totpEncryptionKey`) in a SqlCredentialStore on a SQLite file, or on the PostgreSQL server
 * bench/run.ts started (port in BENCH_POSTGRES_PORT).
 */
export type ServerKind = 'bare' | 'evalsha' | 'jwt' | 'memory' | 'redis' | 'nosession' | 'nocache' | 'passkeys' | 'memory-passkeys' | 'sqlite' | 'postgres'

/** Counts each SQL statement by its first word (`sql:select`), as the Redis commands are: one round trip each. */
async function sqlStore (kind: 'sqlite' | 'postgres', commands: Record<string, number>): Promise<{ store: InstanceType<typeof otp.SqlCredentialStore>, close: () => Promise<void> }> {
  const log = (event: LogEvent): void => {
    const name = `sql:${event.query.sql.trimStart().split(/\s/, 1)[0]?.toLowerCase() ?? ''}`
    commands[name] = (commands[name] ?? 0) + 1
  }
  const dir = mkdtempSync(join(tmpdir(), 'otp-bench-'))
  const dialect = kind === 'sqlite'
    ? new SqliteDialect({ database: new Database(join(dir, 'credentials.sqlite')) })
    : new PostgresDialect({ pool: new pg.Pool({ host: '127.0.0.1', port: Number(process.env.BENCH_POSTGRES_PORT), user: 'postgres', database: 'postgres', max: 10 }) })
  const db = new Kysely<unknown>({ dialect, log })
  const store = new otp.SqlCredentialStore(db, { tablePrefix: `bench_${kind}_` })
  await store.migrate()
  return { store, close: async () => { await db.destroy(); rmSync(dir, { recursive: true, force: true }) } }
}

export interface Snapshot {
  /** HTTP requests that reached the server. */
  requests: number
  /** CPU time of this process, in microseconds: in JavaScript and Node (user), and in the kernel (system). */
  cpuUser: number
  cpuSystem: number
  /** Commands the app's ioredis client sent, by name: what goes over the wire, one round trip each. */
  commands: Record<string, number>
}

export type Command =
  | { op: 'snapshot' }
  /** Codes sent and not yet handed out, first topped up (through POST /login) to at least `atLeast`. */
  | { op: 'pairs', atLeast: number }
  /** An access token, from a login and a verify through the plugin; each `round` of them for a user of its own. */
  | { op: 'token', round: number }
  /** Access tokens of `count` different users, each from a login and a verify through the plugin; `from`: the first user's number. */
  | { op: 'tokens', count: number, from: number }
  /**
   * `count` bodies for POST /passkeys/login, each a fresh challenge (from POST /passkeys/login/options) signed by
   * the passkey of one of `users` users, in turn; the first call registers their passkeys through the plugin.
   */
  | { op: 'assertions', count: number, users: number }
  | { op: 'profile-start' }
  | { op: 'profile-stop', file: string }
  | { op: 'close' }

/** A code the server sent: to whom, the code, and when (this machine's clock, ms), so the bench never sends an expired one. */
export type Pair = [phone: string, code: string, sentAt: number]
export interface Ready { ready: true, port: number }
export interface Reply { id: number, result?: unknown, error?: string }

const JWT_SECRET = 'bench-jwt-secret-that-is-long-enough-0000'
const CODE_SECRET = 'bench-code-secret-that-is-long-enough-000'
const TOTP_KEY = 'b'.repeat(64)
/** The numbers the server issues itself, apart from the orchestrator's (+91 90…). */
const TOP_UP_BASE = 9_800_000_000
/** The user of the `token` command's first round; later rounds count down from it. */
const TOKEN_BASE = 9_999_999_999
const TOKEN_PHONE = `+91${TOKEN_BASE}`
/** The users of the `tokens` command (+91 96…). */
const USERS_BASE = 9_600_000_000
/** The users with a passkey (+91 95…). */
const PASSKEY_USERS_BASE = 9_500_000_000
/** The relying party the passkeys belong to: the assertions are signed for it, no browser involved. */
const RP = { rpId: 'localhost', rpName: 'fastify-otp-login bench', origins: ['http://localhost'] }

/** The JSON each baseline route answers with: the same as the plugin's (defaults) for the same route. */
const loginBody = { message: 'OTP sent', expiresIn: 600, resendIn: 30 }
const fakeJwt = [{ alg: 'HS256', typ: 'JWT' }, { sub: TOKEN_PHONE, phone: TOKEN_PHONE, iat: 1767225600, exp: 1767226500 }]
  .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + '.' + 'x'.repeat(43)
const verifyBody = { access: fakeJwt, tokenType: 'Bearer', expiresIn: 900, refresh: `${'f'.repeat(22)}.${'s'.repeat(43)}`, refreshExpiresIn: 2592000 }
const meBody = { sub: TOKEN_PHONE, phone: TOKEN_PHONE, iat: 1767225600, exp: 1767226500, jti: 'j'.repeat(22), sid: 'f'.repeat(22) }

interface PhoneBody { phone: string }

const dist = process.argv[4] ?? ownDist
const otp = packageAt(dist)

/** The plugin's Lua scripts by SHA-1, which is how EVALSHA names them: those of the build this server loads. */
const builtDir = join(dist, 'cjs')
const scriptNames = new Map(readdirSync(builtDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.lua')).map((file) => [
  createHash('sha1').update(readFileSync(join(builtDir, file), 'utf8')).digest('hex'), file.replace(/^.*\/|\.lua$/g, '')
]))

async function connectRedis (port: number, commands: Record<string, number>): Promise<Redis> {
  const redis = new Redis({ host: '127.0.0.1', port, ...failFast })
  await new Promise((resolve, reject) => { redis.once('ready', resolve); redis.once('error', reject) })
  // Counts what the app sends, not what runs inside a script (INFO commandstats counts both).
  const sendCommand = redis.sendCommand.bind(redis)
  redis.sendCommand = (command, stream) => {
    // A script call is named by its script (evalsha:verify, evalsha:session-create), so the report can tell
    // the OTP-state round trip from the session's.
    const sha = command.name === 'evalsha' ? String(command.args[0]) : undefined
    const name = sha === undefined ? command.name : `evalsha:${scriptNames.get(sha) ?? 'other'}`
    commands[name] = (commands[name] ?? 0) + 1
    return sendCommand(command, stream)
  }
  return redis
}

async function main (): Promise<void> {
  const kind = process.argv[2] as ServerKind
  const redisPort = Number(process.argv[3])
  const commands: Record<string, number> = {}
  const redis = kind === 'bare' ? undefined : await connectRedis(redisPort, commands)
  const app = Fastify()
  const pending: Pair[] = []

  if (kind === 'bare') {
    app.post('/login', async () => loginBody)
    app.post('/verify-otp', async () => verifyBody)
    app.get('/me', async () => meBody)
  } else if (kind === 'evalsha' && redis) {
    // The least a route that needs Redis can do: one script call (EVALSHA, as ioredis sends a defined command).
    redis.defineCommand('benchProbe', { numberOfKeys: 1, lua: "return redis.call('PTTL', KEYS[1])" })
    const probe = (redis as unknown as { benchProbe: (key: string) => Promise<number> }).benchProbe.bind(redis)
    app.post<{ Body: PhoneBody }>('/login', async (request) => {
      await probe(`bench:{${request.body.phone}}:code`)
      return loginBody
    })
  } else {
    // The baseline of GET /me is plain @fastify/jwt, as a host without the plugin has it: registered by the app
    // itself with its defaults (the plugin then signs through it); the plugin's own registration adds a cache.
    if (kind === 'jwt') await app.register(fastifyJwt, { secret: JWT_SECRET })
    // Keys of its own on the shared Redis for each app but the redis one, and for each of the compared build: they
    // top up their codes and sign in their users from the same numbers.
    const own = kind === 'memory' || kind === 'memory-passkeys' ? '' : (kind === 'redis' ? '' : `${kind}:`) + (dist === ownDist ? '' : 'compared:')
    const onMemory = kind === 'memory' || kind === 'memory-passkeys'
    // Authenticators on, kept in SQL: a user without one costs /verify-otp one `get` (one SELECT), nothing more.
    const sql = kind === 'sqlite' || kind === 'postgres' ? await sqlStore(kind, commands) : undefined
    if (sql) app.addHook('onClose', sql.close)
    // Plugin defaults, except the per-IP limits: every request comes from 127.0.0.1.
    await app.register(otp.fastifyOtpLogin, {
      jwt: { secret: JWT_SECRET },
      rateLimit: false,
      send: ({ to, code }) => { pending.push([to, code, Date.now()]) },
      ...(onMemory ? {} : { redis, codeSecret: CODE_SECRET }),
      ...(own === '' ? {} : { keyPrefix: own }),
      ...(kind === 'nosession' ? { refreshTokenTtl: false as const } : {}),
      ...(kind === 'nocache' ? { sessionCache: false as const } : {}),
      ...(kind === 'passkeys' || kind === 'memory-passkeys' ? { passkeys: RP } : {}),
      // Passkeys in Redis too; this throwaway Redis keeps nothing on disk, which the bench accepts.
      ...(kind === 'passkeys' && redis !== undefined ? { credentialStore: new otp.RedisCredentialStore(redis, { keyPrefix: own === '' ? 'otp:' : own, acceptDataLoss: true }) } : {}),
      ...(sql ? { totpEncryptionKey: TOTP_KEY, credentialStore: sql.store } : {})
    })
    if (kind === 'jwt') {
      // The baseline of GET /me: the same secret and tokens, and a route that only verifies the token's signature
      // and times with plain @fastify/jwt, as a host without the plugin's session check would.
      app.get('/me', async (request) => {
        await request.jwtVerify()
        return request.user
      })
    } else {
      app.get('/me', { onRequest: [app.authenticate] }, async (request) => request.user)
    }
  }

  const snapshot = { requests: 0 }
  await app.listen({ host: '127.0.0.1', port: 0 })
  app.server.on('request', () => { snapshot.requests++ })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')

  const passkeys: SoftAuthenticator[] = []
  let profiler: Session | undefined
  const handlers: { [K in Command['op']]: (command: Extract<Command, { op: K }>) => Promise<unknown> } = {
    snapshot: async (): Promise<Snapshot> => {
      const cpu = process.cpuUsage()
      return { requests: snapshot.requests, cpuUser: cpu.user, cpuSystem: cpu.system, commands: { ...commands } }
    },
    pairs: async ({ atLeast }) => {
      await topUp(app, pending, atLeast)
      return pending.splice(0)
    },
    // A user signs in at most maxSends times an hour: each round of tokens is for other users.
    token: async ({ round }) => await token(app, pending, `+91${TOKEN_BASE - round}`),
    tokens: async ({ count, from: first }) => {
      const tokens: string[] = []
      for (let from = 0; from < count; from += 256) {
        const batch = Array.from({ length: Math.min(256, count - from) }, async (_, i) => await token(app, pending, `+91${USERS_BASE + first + from + i}`))
        tokens.push(...await Promise.all(batch))
      }
      return tokens
    },
    assertions: async ({ count, users }) => {
      for (let from = passkeys.length; from < users; from += 64) {
        const batch = Array.from({ length: Math.min(64, users - from) }, async (_, i) => await addPasskey(app, pending, `+91${PASSKEY_USERS_BASE + from + i}`))
        passkeys.push(...await Promise.all(batch))
      }
      const bodies: string[] = []
      for (let from = 0; from < count; from += 256) {
        const batch = Array.from({ length: Math.min(256, count - from) }, async (_, i) => {
          const options = await app.inject({ method: 'POST', url: '/passkeys/login/options' })
          if (options.statusCode !== 200) throw new Error(`passkey login options: ${options.statusCode} ${options.body}`)
          const passkey = passkeys[(from + i) % users] as SoftAuthenticator
          return JSON.stringify({ response: passkey.get(options.json()) })
        })
        bodies.push(...await Promise.all(batch))
      }
      return bodies
    },
    'profile-start': async () => {
      profiler = new Session()
      profiler.connect()
      await post(profiler, 'Profiler.enable')
      await post(profiler, 'Profiler.setSamplingInterval', { interval: 200 })
      await post(profiler, 'Profiler.start')
    },
    'profile-stop': async ({ file }) => {
      if (!profiler) throw new Error('no profile running')
      const { profile } = await post(profiler, 'Profiler.stop') as { profile: unknown }
      profiler.disconnect()
      profiler = undefined
      writeFileSync(file, JSON.stringify(profile))
    },
    close: async () => {
      await app.close()
      redis?.disconnect()
    }
  }

  process.on('message', (message: Command & { id: number }) => {
    const handler = handlers[message.op] as (command: Command) => Promise<unknown>
    handler(message).then(
      (result) => reply({ id: message.id, result }, message.op === 'close'),
      (err: unknown) => reply({ id: message.id, error: String(err) }, false)
    )
  })
  // If the orchestrator goes, so does the server.
  process.on('disconnect', () => process.exit(1))
  process.send?.({ ready: true, port: address.port } satisfies Ready)
}

function reply (message: Reply, exit: boolean): void {
  process.send?.(message, undefined, {}, () => { if (exit) process.exit(0) })
}

let topUpCount = 0
async function topUp (app: FastifyInstance, pending: Pair[], atLeast: number): Promise<void> {
  while (pending.length < atLeast) {
    const batch = Array.from({ length: Math.min(256, atLeast - pending.length) }, async () => {
      const phone = `+91${TOP_UP_BASE + topUpCount++}`
      const res = await app.inject({ method: 'POST', url: '/login', payload: { phone } })
      if (res.statusCode !== 200) throw new Error(`top-up login for ${phone}: ${res.statusCode} ${res.body}`)
    })
    await Promise.all(batch)
  }
}

/** Signs `phone` in through the plugin's routes; its code is taken out of `pending`. */
async function token (app: FastifyInstance, pending: Pair[], phone: string): Promise<string> {
  const login = await app.inject({ method: 'POST', url: '/login', payload: { phone } })
  const index = pending.findIndex(([to]) => to === phone)
  const pair = index >= 0 ? pending.splice(index, 1)[0] : undefined
  if (login.statusCode !== 200 || !pair) throw new Error(`token login: ${login.statusCode} ${login.body}`)
  const verify = await app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: pair[1] } })
  if (verify.statusCode !== 200) throw new Error(`token verify: ${verify.statusCode} ${verify.body}`)
  return (verify.json() as { access: string }).access
}

/**
 * Signs `phone` in with a code, then registers a software passkey for it through the plugin's routes. Its counter
 * stays 0 (as a synced passkey's), so that assertions signed in advance may arrive in any order.
 */
async function addPasskey (app: FastifyInstance, pending: Pair[], phone: string): Promise<SoftAuthenticator> {
  const authorization = `Bearer ${await token(app, pending, phone)}`
  const options = await app.inject({ method: 'POST', url: '/passkeys/register/options', headers: { authorization } })
  if (options.statusCode !== 200) throw new Error(`passkey register options: ${options.statusCode} ${options.body}`)
  const passkey = new SoftAuthenticator({ rpId: RP.rpId, origin: RP.origins[0] as string, counterStep: 0 })
  const registered = await app.inject({
    method: 'POST', url: '/passkeys/register', headers: { authorization }, payload: { response: passkey.create(options.json()) }
  })
  if (registered.statusCode !== 200) throw new Error(`passkey register: ${registered.statusCode} ${registered.body}`)
  return passkey
}

async function post (session: Session, method: string, params?: object): Promise<unknown> {
  return await new Promise((resolve, reject) => {
    session.post(method, params, (err, result) => { if (err) reject(err); else resolve(result) })
  })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})

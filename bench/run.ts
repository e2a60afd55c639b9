// `npm run bench`: the plugin's routes under load on each store, next to two baselines measured in the same run,
// the Redis round trips per request, and the MemoryStore's memory. Writes bench/results.md.
//
// Processes: this one (the orchestrator, idle while a load runs), the load generators (--generators bench/generator.ts
// processes, autocannon each, sharing the connections), one bench/server.ts per kind of server (only one is under
// load at a time), and a throwaway redis-server. The load generators and the server never share an event loop, so
// neither's work shows up as the other's latency, and each generator's CPU time is measured on its own: a scenario
// whose generator ran near a full core was paced by the generator, and fails the run.
//
// On a shared machine the load from elsewhere drifts within a minute, so the scenarios take turns: each one's
// duration is cut into slices, and every round runs one slice of every scenario, each next to its baseline.
// With --compare (or BENCH_BASELINE_DIST), every scenario of the plugin also runs on another build, its slice right
// after this build's, and the report gives each ratio over the other build's: a change's cost, in the same run.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, type } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import type { Redis } from 'ioredis'
import { PostgresServer } from '../test/helpers/postgres.js'
import { RedisServer } from '../test/helpers/redis.js'
import { BenchServer, LoadGenerators, aggregate, type RawResult, type Target } from './load.js'
import type { MemoryResult } from './memory.js'
import { compareDist, ownDist, packageRoot } from './package.js'
import { numberingPlanDiff, regionCount, type PlanDiffResult } from './numbering-plan.js'
import { measureParts } from './parts.js'
import { summarize } from './profile.js'
import {
  buildCheck, cleanRunCheck, credentialCheck, generatorCheck, memoryCheck, planDiffCheck, ratioCheck, render, roundTripCheck,
  type Check, type Measurement, type StoreName
} from './report.js'
import type { Pair, ServerKind, Snapshot } from './server.js'

const { values: args } = parseArgs({
  options: {
    /** Seconds of measured load per scenario, in all. */
    duration: { type: 'string', default: '10' },
    /** Slices each scenario's duration is cut into, taken in turns with the other scenarios. */
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    /** Load-generator processes, sharing the connections. */
    generators: { type: 'string', default: '2' },
    identifiers: { type: 'string', default: '1000000' },
    /** Users whose tokens the many-tokens GET /me sends in turn. */
    users: { type: 'string', default: '5000' },
    /** Users with a passkey whose assertions POST /passkeys/login sends in turn. */
    'passkey-users': { type: 'string', default: '1000' },
    /** Server kinds to run, for work on one part: bare, memory, evalsha, jwt, redis, nosession, nocache, passkeys, memory-passkeys, sqlite, postgres (default all). */
    only: { type: 'string', default: 'bare,memory,evalsha,jwt,redis,nosession,nocache,passkeys,memory-passkeys,sqlite,postgres' },
    /** Another build (its dist/, or a checkout with one) whose plugin scenarios run beside this build's. */
    compare: { type: 'string', default: process.env.BENCH_BASELINE_DIST ?? '' },
    /** A CPU profile of each scenario in bench/tmp/profiles (one slice each; slower, so not comparable). */
    profile: { type: 'boolean', default: false },
    /** Time the parts of a request (phone numbers, HMAC, JWT) in a partial run too. */
    parts: { type: 'boolean', default: false },
    /** The numbering-plan differential test (a million numbers) in a partial run too. */
    plan: { type: 'boolean', default: false },
    /** Numbers in the numbering-plan differential test. */
    numbers: { type: 'string', default: '1000000' },
    /** Missed throughput targets fail the run too. */
    strict: { type: 'boolean', default: false }
  }
})
const duration = Number(args.duration)
const rounds = args.profile ? 1 : Number(args.rounds)
const warmup = Number(args.warmup)
const connections = Number(args.connections)
const generatorCount = Number(args.generators)
if (!(Number.isInteger(generatorCount) && generatorCount >= 1 && generatorCount <= connections)) {
  throw new Error(`--generators must be a whole number from 1 to --connections (${connections}), not ${args.generators}`)
}
/** A load-generator process at this share of a core or more set the pace itself: the run fails. */
const GENERATOR_BOUND = 0.85
const users = Number(args.users)
if (!(Number.isInteger(users) && users >= generatorCount)) {
  throw new Error(`--users must be a whole number of at least --generators (${generatorCount}), not ${args.users}`)
}
const passkeyUsers = Number(args['passkey-users'])
if (!(Number.isInteger(passkeyUsers) && passkeyUsers >= 1)) throw new Error(`--passkey-users must be a whole number of at least 1, not ${args['passkey-users']}`)
const compared = args.compare === '' ? undefined : compareDist(args.compare)
const kinds = new Set(args.only.split(','))
const complete = ['bare', 'memory', 'evalsha', 'jwt', 'redis', 'nosession', 'nocache', 'passkeys', 'memory-passkeys'].every((kind) => kinds.has(kind))
const tmp = join(packageRoot, 'bench', 'tmp')

interface Run {
  id: string
  label: string
  kind: ServerKind
  store?: StoreName
  baseline?: string
  /** On the compared build: the twin of the run of this build with id `of`. */
  twinOf?: string
  /** What to send in the next `seconds` of load. */
  target: (server: BenchServer, seconds: number) => Promise<Target>
}

const fixed = (target: Target) => async () => target
// A new number per request, never used before in the run: each generator process makes them from its own range.
const loginTarget = fixed({ method: 'POST', path: '/login', body: { kind: 'phones' } })
const bareVerifyTarget = fixed({ method: 'POST', path: '/verify-otp', body: { kind: 'phones', otp: '123456' } })
// The bare /me gets a header the size of a real token's.
const bareMeTarget = fixed({ method: 'GET', path: '/me', headers: { authorization: `Bearer ${'x'.repeat(190)}` } })

/** Latest requests/s of each scenario, warm-ups included: how many codes the next verify slice may need. */
const rates = new Map<string, number>()

/**
 * Codes are sent at most this long before a slice starts (they live `codeTtl`, 600 s by default), and access tokens
 * are used at most this long after they were issued (`accessTokenTtl`, 900 s): a long run never sends an expired one.
 */
const CODE_MAX_AGE_MS = 300_000
const TOKEN_MAX_AGE_MS = 600_000

/** One issued (number, code) pair per request: those the login slices issued, topped up by the server. */
function verifyTarget (loginId: string, verifyId: string): Run['target'] {
  // The bodies not sent yet; the generators take their shares and leave the rest here. Beside them, when each
  // one's code was sent: one sent too long ago is dropped, never sent.
  const bodies: string[] = []
  let sentAt = new Map<string, number>()
  return async (server, seconds) => {
    const rate = Math.max(rates.get(verifyId) ?? 0, rates.get(loginId) ?? 0, 1000)
    const want = Math.ceil(rate * seconds * 2.5)
    const fresh = (body: string): boolean => (sentAt.get(body) ?? 0) >= Date.now() - CODE_MAX_AGE_MS
    const kept = bodies.filter(fresh)
    bodies.length = 0
    for (const body of kept) bodies.push(body)
    sentAt = new Map(kept.map((body) => [body, sentAt.get(body) ?? 0]))
    for (const [phone, otp, at] of await server.call<Pair[]>({ op: 'pairs', atLeast: Math.max(0, want - bodies.length) })) {
      const body = JSON.stringify({ phone, otp })
      sentAt.set(body, at)
      if (fresh(body)) bodies.push(body)
    }
    return { method: 'POST', path: '/verify-otp', body: { kind: 'pool', bodies } }
  }
}

/**
 * One signed assertion per request, each for a challenge of its own (single use, 300 s): made for this slice
 * alone, so none is left to expire before a later slice sends it.
 */
function passkeyTarget (passkeyId: string, verifyId: string): Run['target'] {
  return async (server, seconds) => {
    const rate = Math.max(rates.get(passkeyId) ?? 0, rates.get(verifyId) ?? 0, 1000)
    const bodies = await server.call<string[]>({ op: 'assertions', count: Math.ceil(rate * seconds * 1.5), users: passkeyUsers })
    return { method: 'POST', path: '/passkeys/login', body: { kind: 'pool', bodies } }
  }
}

/** What `issue(round)` gave, issued again (round 1, 2, …) once it is `TOKEN_MAX_AGE_MS` old. */
function renewed<T> (issue: (round: number) => Promise<T>): () => Promise<T> {
  let value: T | undefined
  let round = 0
  let issuedAt = 0
  return async () => {
    if (value === undefined || issuedAt < Date.now() - TOKEN_MAX_AGE_MS) {
      issuedAt = Date.now()
      value = await issue(round++)
    }
    return value
  }
}

function meTarget (): Run['target'] {
  let token: (() => Promise<string>) | undefined
  return async (server) => {
    token ??= renewed(async (round) => await server.call<string>({ op: 'token', round }))
    return { method: 'GET', path: '/me', headers: { authorization: `Bearer ${await token()}` } }
  }
}

/** Tokens of `users` different users, sent in turn: more than app.authenticate keeps (1000 by default). */
function usersTarget (): Run['target'] {
  let tokens: (() => Promise<string[]>) | undefined
  return async (server) => {
    tokens ??= renewed(async (round) => await server.call<string[]>({ op: 'tokens', count: users, from: users * round }))
    return { method: 'GET', path: '/me', tokens: await tokens() }
  }
}

const manyTokens = `GET /me, ${users.toLocaleString('en')} users' tokens in turn`
/** Scenarios on servers that run no code of the plugin: one serves both builds. */
const pluginFree = new Set<ServerKind>(['bare', 'evalsha'])
/** Scenarios of this build only: the compared build may have no SqlCredentialStore. */
const ownOnly = new Set<ServerKind>(['sqlite', 'postgres'])
const pluginFreeIds = new Set(['bare login', 'evalsha', 'bare verify', 'bare me'])
/** Scenarios of what a compared build may not have: this build's only. */
const thisBuildOnly = new Set<ServerKind>(['passkeys', 'memory-passkeys'])

/**
 * The scenarios of this build, or of the compared one (`twin`): those of the plugin under ids of their own, with
 * targets of their own (each server issues its own codes and tokens), against the compared build's own baseline
 * where that runs the plugin (the jwt app), else the same one.
 */
function scenarios (twin: boolean): Run[] {
  const id = (name: string): string => twin && !pluginFreeIds.has(name) ? `${name} (compared)` : name
  // Grouped by route, so that each scenario runs right after its baseline.
  const all: Run[] = [
    { id: 'bare login', label: 'bare POST /login', kind: 'bare', target: loginTarget },
    { id: id('memory login'), label: 'POST /login', kind: 'memory', store: 'MemoryStore', baseline: 'bare login', target: loginTarget },
    { id: 'evalsha', label: 'one EVALSHA, POST /login', kind: 'evalsha', target: loginTarget },
    { id: id('redis login'), label: 'POST /login', kind: 'redis', store: 'RedisStore', baseline: 'evalsha', target: loginTarget },
    { id: 'bare verify', label: 'bare POST /verify-otp', kind: 'bare', target: bareVerifyTarget },
    { id: id('memory verify'), label: 'POST /verify-otp', kind: 'memory', store: 'MemoryStore', baseline: 'bare verify', target: verifyTarget(id('memory login'), id('memory verify')) },
    { id: id('redis verify'), label: 'POST /verify-otp', kind: 'redis', store: 'RedisStore', baseline: 'evalsha', target: verifyTarget(id('redis login'), id('redis verify')) },
    // The same without sessions: what the second round trip (the session script) and the work around it cost.
    { id: id('nosession verify'), label: 'POST /verify-otp, refreshTokenTtl: false (no session)', kind: 'nosession', store: 'RedisStore', baseline: 'evalsha', target: verifyTarget(id('redis login'), id('nosession verify')) },
    // A sign-in with a passkey beside one with a code: a software authenticator signs each challenge beforehand.
    { id: 'memory passkey', label: 'POST /passkeys/login', kind: 'memory-passkeys', store: 'MemoryStore', baseline: 'bare verify', target: passkeyTarget('memory passkey', id('memory verify')) },
    { id: 'redis passkey', label: 'POST /passkeys/login', kind: 'passkeys', store: 'RedisStore', baseline: 'evalsha', target: passkeyTarget('redis passkey', id('redis verify')) },
    // Authenticators on, in SQL, for users without one: what the one credential read (a SELECT) costs.
    { id: 'sqlite verify', label: 'POST /verify-otp, authenticators in SQLite (SqlCredentialStore)', kind: 'sqlite', store: 'RedisStore', baseline: 'redis verify', target: verifyTarget('redis login', 'sqlite verify') },
    { id: 'postgres verify', label: 'POST /verify-otp, authenticators in PostgreSQL (SqlCredentialStore)', kind: 'postgres', store: 'RedisStore', baseline: 'redis verify', target: verifyTarget('redis login', 'postgres verify') },
    { id: 'bare me', label: 'bare GET /me', kind: 'bare', target: bareMeTarget },
    { id: id('jwt me'), label: 'GET /me, request.jwtVerify() only', kind: 'jwt', baseline: 'bare me', target: meTarget() },
    { id: id('memory me'), label: 'GET /me', kind: 'memory', store: 'MemoryStore', baseline: id('jwt me'), target: meTarget() },
    // More users than app.authenticate keeps tokens of: beside the one-token figure, what a miss costs.
    { id: id('memory me users'), label: manyTokens, kind: 'memory', store: 'MemoryStore', baseline: id('jwt me'), target: usersTarget() },
    { id: id('redis me'), label: 'GET /me', kind: 'redis', store: 'RedisStore', baseline: id('jwt me'), target: meTarget() },
    { id: id('redis me users'), label: manyTokens, kind: 'redis', store: 'RedisStore', baseline: id('jwt me'), target: usersTarget() },
    // The same without the session cache: what it saves.
    { id: id('nocache me'), label: 'GET /me, sessionCache: false', kind: 'nocache', store: 'RedisStore', baseline: id('jwt me'), target: meTarget() }
  ]
  return all.filter((run) => kinds.has(run.kind) && !(twin && (pluginFree.has(run.kind) || thisBuildOnly.has(run.kind) || ownOnly.has(run.kind))))
    .map((run) => twin ? { ...run, label: `${run.label} [compared build]`, twinOf: run.id.replace(/ \(compared\)$/, '') } : run)
}

// Each scenario of the compared build beside its twin on this one.
const twins = compared === undefined ? [] : scenarios(true)
const runs: Run[] = scenarios(false).flatMap((run) => [run, ...twins.filter((twin) => twin.twinOf === run.id)])

/**
 * The runs of one round. In every other round each twin goes first: the two builds take turns at running right
 * after the other scenarios (a server that just ran may leave the machine's caches, or its load, to the next).
 */
function inTurn (round: number): Run[] {
  if (round % 2 === 1) return runs
  const order = [...runs]
  for (let i = 0; i + 1 < order.length; i++) {
    const [run, next] = [order[i] as Run, order[i + 1] as Run]
    if (next.twinOf === run.id) {
      order[i] = next
      order[i + 1] = run
      i++
    }
  }
  return order
}
/** The server a run loads: one per kind and build. */
const serverKey = (run: Run): string => run.twinOf === undefined ? run.kind : `${run.kind} (compared)`

interface RedisStats { commands: Record<string, number>, cpuMicros: number }

async function redisStats (admin: Redis): Promise<RedisStats> {
  const info = await admin.call('INFO', 'commandstats', 'cpu') as string
  const commands: Record<string, number> = {}
  for (const [, name, calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (name && calls && name !== 'info') commands[name] = Number(calls)
  }
  const seconds = (field: string): number => Number(new RegExp(`^${field}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0)
  return { commands, cpuMicros: (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6 }
}

function addCounts (into: Record<string, number>, before: Record<string, number>, after: Record<string, number>): void {
  for (const [name, count] of Object.entries(after)) {
    const d = count - (before[name] ?? 0)
    if (d > 0) into[name] = (into[name] ?? 0) + d
  }
}

/** A scenario's measured slices, added up. */
class Tally {
  readonly raws: RawResult[] = []
  /** Wall time of the load, slices added up (the generators of a slice run side by side). */
  seconds = 0
  ok = 0
  failed = 0
  spare = 0
  serverRequests = 0
  cpuUser = 0
  cpuSystem = 0
  redisCpu = 0
  /** CPU time and load time of each generator process. */
  readonly generatorCpu: number[] = []
  readonly generatorSeconds: number[] = []
  readonly generatorLoopBusy: number[] = []
  readonly appCommands: Record<string, number> = {}
  readonly redisCommands: Record<string, number> = {}

  measurement (run: Run): Measurement {
    const { ok, failed, seconds } = this
    const result = aggregate(this.raws, connections)
    return {
      id: run.id,
      label: run.label,
      store: run.store,
      baseline: run.baseline,
      twinOf: run.twinOf,
      rps: ok / seconds,
      p50: result.latency.p50,
      p99: result.latency.p99,
      responses: ok + failed,
      // The 400s sent after the codes ran out are the bench's, not the server's.
      failed: Math.max(0, failed - this.spare),
      serverRequests: this.serverRequests,
      cpuUserPerRequest: this.cpuUser / this.serverRequests,
      cpuSystemPerRequest: this.cpuSystem / this.serverRequests,
      redisCpuPerRequest: this.redisCpu / this.serverRequests,
      loadGeneratorCpu: this.generatorCpu.map((cpu, i) => cpu / ((this.generatorSeconds[i] ?? 0) * 1e6)),
      loadGeneratorLoop: this.generatorLoopBusy.map((busy, i) => busy / (this.generatorSeconds[i] ?? 0)),
      appCommands: this.appCommands,
      redisCommands: this.redisCommands
    }
  }
}

/**
 * One slice of load on `run`; added to `tally` when given (a warm-up has none). With `profile`, a CPU profile of
 * the server under the load alone (not the codes it issued beforehand for a verify slice) is written there.
 */
async function slice (
  generators: LoadGenerators, server: BenchServer, run: Run, seconds: number, admin: Redis, tally?: Tally, profile?: string
): Promise<void> {
  const target = await run.target(server, seconds)
  if (profile !== undefined) await server.call({ op: 'profile-start' })
  const before = await server.call<Snapshot>({ op: 'snapshot' })
  const redisBefore = await redisStats(admin)

  const load = await generators.load(server.port, target, seconds, connections)
  await sleep(100) // the requests autocannon left in flight finish
  if (profile !== undefined) {
    await server.call({ op: 'profile-stop', file: profile })
    console.log(`${run.id}: ${profile}\n${summarize(JSON.parse(readFileSync(profile, 'utf8')))}\n`)
  }
  const after = await server.call<Snapshot>({ op: 'snapshot' })
  const redisAfter = await redisStats(admin)
  const ok = load.raws.reduce((total, raw) => total + raw['2xx'], 0)
  const wall = Math.max(...load.raws.map((raw) => raw.duration))
  rates.set(run.id, ok / wall)
  if (load.spare > 0) console.log(`${run.id}: the issued codes ran out after ${wall} s; this slice was cut short`)
  if (!tally) return

  tally.raws.push(...load.raws)
  tally.seconds += wall
  tally.ok += ok
  tally.failed += load.raws.reduce((total, raw) => total + raw.non2xx + raw.errors + raw.timeouts, 0)
  tally.spare += load.spare
  load.cpuMicros.forEach((cpu, i) => {
    tally.generatorCpu[i] = (tally.generatorCpu[i] ?? 0) + cpu
    tally.generatorSeconds[i] = (tally.generatorSeconds[i] ?? 0) + (load.seconds[i] ?? 0)
    tally.generatorLoopBusy[i] = (tally.generatorLoopBusy[i] ?? 0) + (load.loopBusy[i] ?? 0) * (load.seconds[i] ?? 0)
  })
  tally.serverRequests += after.requests - before.requests
  tally.cpuUser += after.cpuUser - before.cpuUser
  tally.cpuSystem += after.cpuSystem - before.cpuSystem
  tally.redisCpu += redisAfter.cpuMicros - redisBefore.cpuMicros
  addCounts(tally.appCommands, before.commands, after.commands)
  addCounts(tally.redisCommands, redisBefore.commands, redisAfter.commands)
}

async function measureMemory (): Promise<MemoryResult> {
  const child = fork(join(__dirname, 'memory.js'), [args.identifiers], { execArgv: ['--expose-gc'] })
  const [[result]] = await Promise.race([
    Promise.all([once(child, 'message') as Promise<[MemoryResult]>, once(child, 'exit')]),
    once(child, 'exit').then(([code]) => { throw new Error(`memory check exited (${String(code)}) without a result`) })
  ])
  return result
}

function targets (all: Map<string, Measurement>, memory: MemoryResult | undefined, planDiff: PlanDiffResult | undefined): Check[] {
  const login = all.get('redis login')
  const verify = all.get('redis verify')
  const checks: Check[] = []
  if (all.size) checks.push(generatorCheck(all, GENERATOR_BOUND))
  if (login) checks.push(roundTripCheck(login, 'issue'))
  if (verify) checks.push(roundTripCheck(verify, 'verify', ['session-create']))
  const stateless = all.get('nosession verify')
  if (stateless) checks.push(roundTripCheck(stateless, 'verify'))
  // With authenticators on, a sign-in without one also resets the first factor's counters (reset.lua, as on
  // Redis alone): that is the plugin's, not the credential store's, whose share is one SELECT.
  for (const id of ['sqlite verify', 'postgres verify']) {
    const m = all.get(id)
    if (m) checks.push(...credentialCheck(m, 'verify', ['session-create', 'reset']))
  }
  // The three ratios: each route on Redis against the least a route of its kind can do.
  const ratio = (id: string, baseline: string, what: string, atLeast?: number): void => {
    const m = all.get(id)
    const base = all.get(baseline)
    if (m && base) checks.push(ratioCheck(m, base, what, atLeast))
  }
  ratio('redis me', 'jwt me', 'GET /me behind app.authenticate on RedisStore (sessions on)', 1)
  ratio('redis me users', 'jwt me', `${manyTokens} behind app.authenticate on RedisStore`)
  ratio('nocache me', 'jwt me', 'GET /me behind app.authenticate on RedisStore with sessionCache: false')
  ratio('redis login', 'evalsha', 'POST /login on RedisStore, a new number per request', 0.6)
  ratio('redis verify', 'evalsha', 'POST /verify-otp on RedisStore, one issued code per request', 0.5)
  ratio('nosession verify', 'evalsha', 'POST /verify-otp on RedisStore without sessions (refreshTokenTtl: false)')
  // A passkey sign-in (a signature check, the challenge, the credential) beside a code sign-in.
  ratio('redis passkey', 'evalsha', 'POST /passkeys/login on RedisStore, one signed assertion per request')
  ratio('redis passkey', 'redis verify', 'POST /passkeys/login on RedisStore')
  ratio('memory passkey', 'memory verify', 'POST /passkeys/login on MemoryStore')
  // The same on the MemoryStore, against the same baselines and its own (a route that needs no Redis).
  ratio('memory me', 'jwt me', 'GET /me behind app.authenticate on MemoryStore')
  ratio('memory me users', 'jwt me', `${manyTokens} behind app.authenticate on MemoryStore`)
  ratio('memory login', 'evalsha', 'POST /login on MemoryStore')
  ratio('memory login', 'bare login', 'POST /login on MemoryStore')
  ratio('memory verify', 'evalsha', 'POST /verify-otp on MemoryStore')
  ratio('memory verify', 'bare verify', 'POST /verify-otp on MemoryStore')
  if (compared !== undefined) checks.push(buildCheck(all, 0.05))
  if (memory) checks.push(memoryCheck(memory, 0.2))
  if (planDiff) checks.push(planDiffCheck(planDiff, regionCount()))
  // A scenario with failed requests measured something else: say so.
  return checks.concat([...all.values()].map(cleanRunCheck).filter((c) => !c.pass))
}

async function main (): Promise<number> {
  mkdirSync(join(tmp, 'profiles'), { recursive: true })
  const loadBefore = loadavg()
  const redisServer = await RedisServer.start()
  const admin = await redisServer.client()
  // A throwaway PostgreSQL for the postgres server, as the tests start one; its servers find it by this port.
  const postgres = kinds.has('postgres') ? await PostgresServer.start() : undefined
  if (postgres) process.env.BENCH_POSTGRES_PORT = String(postgres.port)
  const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown'
  const servers = new Map<string, BenchServer>()
  const generators = await LoadGenerators.start(generatorCount)
  // Everything stops by itself; this is for a hang (a server that never answers), at three times the planned load.
  const minutes = Math.max(9, Math.ceil(3 * runs.length * (warmup + duration) / 60))
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${minutes} minutes; stopping`)
    generators.kill()
    for (const server of servers.values()) server.kill()
    process.exit(2)
  }, minutes * 60_000)

  const tallies = new Map(runs.map((run) => [run.id, new Tally()]))
  try {
    for (const run of runs) {
      const dist = run.twinOf === undefined ? ownDist : compared ?? ownDist
      if (!servers.has(serverKey(run))) servers.set(serverKey(run), await BenchServer.start(run.kind, redisServer.port, dist))
    }
    const serverOf = (run: Run): BenchServer => servers.get(serverKey(run)) as BenchServer
    // Warm-up: JIT, and each script's first call (EVALSHA, NOSCRIPT, EVAL) stay out of the measurements.
    for (const run of runs) await slice(generators, serverOf(run), run, warmup, admin)
    for (let round = 1; round <= rounds; round++) {
      for (const run of inTurn(round)) {
        const file = args.profile ? join(tmp, 'profiles', `${run.id.replace(/\W+/g, '-')}.cpuprofile`) : undefined
        await slice(generators, serverOf(run), run, duration / rounds, admin, tallies.get(run.id), file)
      }
      console.log(`round ${round} of ${rounds} done`)
    }
  } finally {
    clearTimeout(watchdog)
    await generators.close()
    for (const server of servers.values()) await server.close()
    await redisServer.stop()
    await postgres?.stop()
  }
  const all = new Map(runs.map((run) => [run.id, (tallies.get(run.id) as Tally).measurement(run)]))

  let memory: MemoryResult | undefined
  if (kinds.has('memory')) {
    console.log(`memory: issuing codes to ${Number(args.identifiers).toLocaleString('en')} numbers…`)
    memory = await measureMemory()
  }

  // Alone on the machine now: the load runs and their servers are done.
  const parts = complete || args.parts ? await measureParts() : undefined

  let planDiff: PlanDiffResult | undefined
  if (complete || args.plan) {
    console.log(`numbering plan: checking ${Number(args.numbers).toLocaleString('en')} generated numbers against libphonenumber-js…`)
    planDiff = numberingPlanDiff(Number(args.numbers), Date.now() % 2 ** 31)
  }

  const checks = targets(all, memory, planDiff)
  const cpu = cpus()
  const markdown = render({
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    node: process.version,
    redis: redisVersion,
    cpu: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}`,
    os: `${type()} ${release()}`,
    loadBefore,
    loadAfter: loadavg(),
    settings: `${connections} connections from ${generatorCount} load-generator process${generatorCount === 1 ? '' : 'es'}; ${duration} s per scenario in ${rounds} slices of ${duration / rounds} s, ` +
      `taken in turns; ${warmup} s warm-up each; rate limits off` +
      (compared === undefined ? '' : `; every scenario of the plugin also on the build in ${compared}, beside this build's, the two taking turns at going first`) +
      (args.profile ? '; **CPU profiler on (numbers not comparable)**' : '')
  }, all, checks, memory, parts, compared)
  // A profiled or partial run does not replace the committed results.
  const file = args.profile || !complete ? join(tmp, 'results-partial.md') : join(packageRoot, 'bench', 'results.md')
  writeFileSync(file, markdown)
  console.log('\n' + markdown + `\nwritten to ${file}`)

  const failed = checks.filter((c) => !c.pass && (c.hard || args.strict))
  if (failed.length) console.error(`bench: ${failed.length} check(s) failed: ${failed.map((c) => c.target).join('; ')}`)
  return failed.length ? 1 : 0
}

main().then((code) => { process.exitCode = code }, (err: unknown) => {
  console.error(err)
  process.exitCode = 1
})

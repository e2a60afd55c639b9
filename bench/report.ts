// Turns the measurements into the checks and the Markdown that `npm run bench` prints and writes to results.md.
import type { MemoryResult } from './memory.js'
import type { PlanDiffResult } from './numbering-plan.js'
import type { Part } from './parts.js'

export type StoreName = 'MemoryStore' | 'RedisStore'

export interface Measurement {
  id: string
  label: string
  store: StoreName | undefined
  baseline: string | undefined
  /** On the compared build: the id of the same scenario on this one. */
  twinOf: string | undefined
  rps: number
  p50: number
  p99: number
  /** Responses autocannon counted, and those that were not 2xx, errors and timeouts among them. */
  responses: number
  failed: number
  /** Requests the server received in the window: the denominator of the per-request figures. */
  serverRequests: number
  /** CPU time per request of the server process, in JavaScript and Node (user) and in the kernel (system). */
  cpuUserPerRequest: number
  cpuSystemPerRequest: number
  /** CPU time per request of redis-server (from INFO cpu). */
  redisCpuPerRequest: number
  /** CPU time of each load-generator process over the scenario's load, in cores (1 = one core, all the time). */
  loadGeneratorCpu: number[]
  /** The share of the scenario's load time each generator's event loop was busy rather than waiting for the server. */
  loadGeneratorLoop: number[]
  /** Commands the app's Redis client sent in the window (round trips), by name. */
  appCommands: Record<string, number>
  /** Commands Redis ran in the window by INFO commandstats (inside scripts too), by name. */
  redisCommands: Record<string, number>
}

export interface Check {
  target: string
  measured: string
  pass: boolean
  /** A miss fails `npm run bench`; otherwise it is reported only (unless --strict). */
  hard: boolean
  /** A figure with no target: shown as reported, never a miss. */
  info?: boolean
}

export interface Machine {
  date: string
  node: string
  redis: string
  cpu: string
  os: string
  loadBefore: number[]
  loadAfter: number[]
  settings: string
}

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0)
const perRequest = (count: number, m: Measurement): number => count / m.serverRequests
const fixed = (value: number, digits: number): string => Number.isFinite(value) ? value.toFixed(digits) : 'n/a'
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`

const cpuPerRequest = (m: Measurement): number => m.cpuUserPerRequest + m.cpuSystemPerRequest
/** Each load-generator process's CPU, in percent of a core. */
const cpuList = (m: Measurement): string => m.loadGeneratorCpu.map((cpu) => `${fixed(cpu * 100, 0)}%`).join(' + ')
/** Each load-generator process's event loop, in percent busy. */
const loopList = (m: Measurement): string => m.loadGeneratorLoop.map((busy) => `${fixed(busy * 100, 0)}%`).join(' + ')

/** Requests/s as a share of the baseline's; and what it would be if the server's CPU were all that limited it. */
export function ratio (m: Measurement, all: Map<string, Measurement>): { rps: number, cpu: number } | undefined {
  const base = m.baseline === undefined ? undefined : all.get(m.baseline)
  return base === undefined ? undefined : { rps: m.rps / base.rps, cpu: cpuPerRequest(base) / cpuPerRequest(m) }
}

/**
 * At most one round trip for OTP state: one call of the route's OTP script per request, and nothing sent but
 * scripts. A successful verify also starts a session (one more script, not OTP state): reported, not counted.
 */
export function roundTripCheck (m: Measurement, otpScript: string, sessionScripts: readonly string[] = []): Check {
  const otpCalls = m.appCommands[`evalsha:${otpScript}`] ?? 0
  const sessionCalls = sessionScripts.reduce((n, name) => n + (m.appCommands[`evalsha:${name}`] ?? 0), 0)
  const allowed = new Set([`evalsha:${otpScript}`, ...sessionScripts.map((name) => `evalsha:${name}`)])
  const other = Object.keys(m.appCommands).filter((name) => !allowed.has(name))
  const scriptCalls = (m.redisCommands.evalsha ?? 0) + (m.redisCommands.eval ?? 0)
  const pass = m.serverRequests > 0 && otpCalls <= m.serverRequests && other.length === 0
  return {
    target: `${m.label} on ${m.store}: at most one Redis round trip per request for OTP state`,
    measured: `${otpCalls} calls of ${otpScript}.lua for ${m.serverRequests} requests (${fixed(otpCalls / m.serverRequests, 3)} per request)` +
      (sessionScripts.length ? `, plus ${fixed(sessionCalls / m.serverRequests, 3)} session script per request` : '') +
      `; ${other.length ? `also sent: ${other.join(', ')}` : 'nothing else sent'}; ${scriptCalls} script calls in INFO commandstats`,
    pass,
    hard: true
  }
}

/**
 * A route on Redis with authenticators kept in SQL, for users without one: the Redis round trips of
 * `roundTripCheck`, and at most one SQL statement per request, a SELECT (the credential store's one `get`).
 */
export function credentialCheck (m: Measurement, otpScript: string, sessionScripts: readonly string[] = []): Check[] {
  const sql = Object.entries(m.appCommands).filter(([name]) => name.startsWith('sql:'))
  const redisOnly = { ...m, appCommands: Object.fromEntries(Object.entries(m.appCommands).filter(([name]) => !name.startsWith('sql:'))) }
  const statements = sql.reduce((n, [, count]) => n + count, 0)
  const others = sql.filter(([name]) => name !== 'sql:select').map(([name]) => name)
  return [roundTripCheck(redisOnly, otpScript, sessionScripts), {
    target: `${m.label}: at most one SQL round trip per request (the credential store's one get, a SELECT)`,
    measured: `${statements} SQL statements for ${m.serverRequests} requests (${fixed(statements / m.serverRequests, 3)} per request)` +
      `; ${others.length ? `also: ${others.join(', ')}` : 'nothing but SELECT'}`,
    pass: m.serverRequests > 0 && statements <= m.serverRequests && others.length === 0,
    hard: true
  }]
}

export function cleanRunCheck (m: Measurement): Check {
  return {
    target: `${m.label}${m.store ? ` on ${m.store}` : ''}: every response 2xx`,
    measured: `${m.failed} of ${m.responses} failed`,
    pass: m.failed === 0 && m.responses > 0,
    hard: true
  }
}

/**
 * No scenario, baselines least of all, may have been paced by the load generator rather than by the server: each
 * generator process must have stayed under `under` of a core, and its event loop under `under` busy (a generator
 * that a busy machine starves of CPU never reaches a full core, but never waits for the server either). A bound
 * baseline pulls every ratio toward 1.
 */
export function generatorCheck (all: Map<string, Measurement>, under: number): Check {
  const busiest = (m: Measurement): number => Math.max(0, ...m.loadGeneratorCpu, ...m.loadGeneratorLoop)
  const scenarios = [...all.values()]
  const bound = scenarios.filter((m) => !(busiest(m) < under))
  const top = scenarios.reduce<Measurement | undefined>((a, m) => a === undefined || busiest(m) > busiest(a) ? m : a, undefined)
  const name = (m: Measurement): string => `${m.label}${m.store ? ` on ${m.store}` : ''}`
  const figures = (m: Measurement): string => `CPU ${cpuList(m)}, loop busy ${loopList(m)}`
  const processes = top?.loadGeneratorCpu.length ?? 0
  return {
    target: `every scenario, baselines included: each load-generator process under ${fixed(under * 100, 0)}% of a core ` +
      'and its event loop under the same share busy (else the generator, not the server, set the pace)',
    measured: bound.length
      ? `bound: ${bound.map((m) => `${name(m)} (${figures(m)})`).join('; ')}`
      : top ? `busiest: ${name(top)}, ${figures(top)} (${processes} process${processes === 1 ? '' : 'es'})` : 'no scenario ran',
    pass: scenarios.length > 0 && bound.length === 0,
    hard: true
  }
}

/** `m`'s requests/s as a share of its baseline's, against `atLeast` (or only reported, without one). */
export function ratioCheck (m: Measurement, base: Measurement, what: string, atLeast?: number): Check {
  const share = m.rps / base.rps
  const cpu = cpuPerRequest(base) / cpuPerRequest(m)
  return {
    target: `${what}: ` + (atLeast === undefined ? `share of ${base.label} (reported, no target)` : `at least ${fixed(atLeast, 2)} × ${base.label}`),
    measured: `${Math.round(m.rps)} vs ${Math.round(base.rps)} req/s: ${fixed(share, 2)} ` +
      `(by server CPU per request, ${fixed(cpuPerRequest(m), 0)} vs ${fixed(cpuPerRequest(base), 0)} µs: ${fixed(cpu, 2)})`,
    pass: atLeast === undefined || share >= atLeast,
    hard: false,
    info: atLeast === undefined
  }
}

/** A scenario's ratio to its baseline over the same on the compared build (`twin`), by requests/s and by CPU. */
export interface Comparison { m: Measurement, twin: Measurement, here: { rps: number, cpu: number }, there: { rps: number, cpu: number } }

/** Each scenario of this build that ran on the compared build too, with both ratios. */
export function comparisons (all: Map<string, Measurement>): Comparison[] {
  return [...all.values()].flatMap((twin) => {
    const m = twin.twinOf === undefined ? undefined : all.get(twin.twinOf)
    const here = m && ratio(m, all)
    const there = ratio(twin, all)
    return m && here && there ? [{ m, twin, here, there }] : []
  })
}

/**
 * Every ratio of this build within `within` of the compared build's in the same run (requests/s; the same by
 * server CPU is shown beside it). Reported as a throughput target: a miss fails the run only with --strict.
 */
export function buildCheck (all: Map<string, Measurement>, within: number): Check {
  const list = comparisons(all)
  const off = list.filter((c) => !(Math.abs(c.here.rps / c.there.rps - 1) <= within))
  const name = (c: Comparison): string => `${c.m.label}${c.m.store ? ` on ${c.m.store}` : ''} ${fixed(c.here.rps / c.there.rps, 3)}`
  const spread = list.map((c) => c.here.rps / c.there.rps)
  return {
    target: `every scenario's ratio to its baseline within ${fixed(within * 100, 0)}% of the compared build's in the same run`,
    measured: list.length === 0
      ? 'no scenario ran on both builds'
      : `${list.length - off.length} of ${list.length} within; ratio of ratios from ${fixed(Math.min(...spread), 3)} to ${fixed(Math.max(...spread), 3)}` +
        (off.length ? `; outside: ${off.map(name).join(', ')}` : ''),
    pass: list.length > 0 && off.length === 0,
    hard: false
  }
}

export function planDiffCheck (result: PlanDiffResult, regionCount: number): Check {
  const n = (value: number): string => value.toLocaleString('en')
  return {
    target: 'the numbering-plan check gives exactly libphonenumber-js\'s answers: at least 1,000,000 generated numbers across every region of the metadata, zero disagreements',
    measured: `${n(result.generated)} generated (seed ${result.seed}), ${n(result.read)} read by the library, ${n(result.valid)} of them valid, ` +
      `${result.regions} of ${regionCount} regions; ${n(result.disagreementCount)} disagreements` +
      (result.disagreements.length > 0 ? ` (${result.disagreements.join('; ')})` : '') + ` (${fixed(result.seconds, 1)} s)`,
    pass: result.disagreementCount === 0 && result.generated >= 1_000_000 && result.regions === regionCount,
    hard: true
  }
}

export function memoryCheck (result: MemoryResult, within: number): Check {
  const growth = result.end.heapUsed / result.start.heapUsed - 1
  return {
    target: `MemoryStore: after ${result.identifiers.toLocaleString('en')} numbers expire, the heap is within ${within * 100}% of where it started`,
    measured: `${mib(result.start.heapUsed)} at start, ${mib(result.peak.heapUsed)} with every number live, ` +
      `${mib(result.end.heapUsed)} after expiry and a sweep (${growth >= 0 ? '+' : ''}${fixed(growth * 100, 1)}%)`,
    pass: growth <= within,
    hard: true
  }
}

export function render (
  machine: Machine, all: Map<string, Measurement>, checks: Check[], memory: MemoryResult | undefined, parts?: Part[], compared?: string
): string {
  const rows = [...all.values()].map((m) => {
    const r = ratio(m, all)
    const redis = m.store === 'RedisStore' || m.id === 'evalsha'
    const cells = [
      m.label, m.store ?? 'baseline', Math.round(m.rps), m.p50, m.p99, m.baseline ?? '',
      r === undefined ? '' : `${fixed(r.rps * 100, 0)}%`,
      r === undefined ? '' : `${fixed(r.cpu * 100, 0)}%`,
      `${fixed(cpuPerRequest(m), 0)} (${fixed(m.cpuUserPerRequest, 0)} + ${fixed(m.cpuSystemPerRequest, 0)})`,
      redis ? fixed(m.redisCpuPerRequest, 0) : '',
      redis ? fixed(perRequest(sum(m.appCommands), m), 2) : '',
      redis ? fixed(perRequest(sum(m.redisCommands), m), 2) : '',
      cpuList(m),
      loopList(m)
    ]
    return `| ${cells.join(' | ')} |`
  })
  const verdict = (c: Check): string => c.info ? 'reported' : c.pass ? 'PASS' : c.hard ? '**FAIL**' : '**MISS**'
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${machine.date}. Numbers are only comparable within one run: the baselines`,
    'are measured in the same run, on the same machine, with the same load generator.',
    '',
    '| machine | |',
    '|---|---|',
    `| Node | ${machine.node} |`,
    `| Redis | ${machine.redis} |`,
    `| CPU | ${machine.cpu} |`,
    `| OS | ${machine.os} |`,
    `| load average (1, 5, 15 min) | ${machine.loadBefore.map((l) => l.toFixed(2)).join(', ')} before; ${machine.loadAfter.map((l) => l.toFixed(2)).join(', ')} after |`,
    `| settings | ${machine.settings} |`,
    '',
    // A failed hard check makes the run's numbers suspect: say so before any of them.
    ...checks.filter((c) => c.hard && !c.pass).flatMap((c) => [`**This run FAILED: ${c.target}. Measured: ${c.measured}.**`, '']),
    '## Throughput and latency',
    '',
    '| scenario | store | req/s | p50 ms | p99 ms | baseline | vs baseline | vs baseline by CPU | server CPU µs/req (user + sys) | Redis CPU µs/req | Redis round trips/req | Redis commands/req | load generator CPU | load generator loop busy |',
    '|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    '*vs baseline*: requests/s as a share of the baseline\'s. *vs baseline by CPU*: the baseline\'s server CPU per request',
    'over the scenario\'s, what that share would be if the server\'s CPU were all that limited it.',
    '*server CPU µs/req*: CPU time of the server process per request, in JavaScript and Node (user) and in the kernel',
    '(sys: mostly socket writes); less sensitive to other load on the machine than req/s. *Redis CPU µs/req*: the same',
    'for redis-server, from INFO cpu. *Redis round trips/req*: commands the app\'s client sent. *Redis commands/req*:',
    'what Redis ran by INFO commandstats, the commands inside the scripts included. *load generator CPU*: each',
    'autocannon process, in percent of one core while it ran; near 100% means the load generator, not the server, set',
    'the pace (checked below). *load generator loop busy*: the share of that time each one\'s event loop was at work',
    'rather than waiting for responses; near 100% with CPU well below a core means a busy machine starved it.',
    '',
    '## Targets',
    '',
    '| target | measured | result |',
    '|---|---|---|',
    ...checks.map((c) => `| ${c.target} | ${c.measured} | ${verdict(c)} |`),
    '',
    'FAIL fails `npm run bench`; MISS is a throughput target missed, reported (and failing only with `--strict`),',
    'since those depend on what else the machine runs; *reported* is a figure without a target.'
  ]
  const pairs = comparisons(all)
  if (compared !== undefined) {
    lines.push('', '## Against the compared build', '',
      `Each scenario of the plugin ran on the build in \`${compared}\` too, its slices beside this build's (the two taking turns at going first), with`,
      'the same servers, load and baselines. *ratio of ratios*: this build\'s share of its baseline over the compared',
      'build\'s (1.000: the same; under 1: this build is slower by that share).', '',
      '| scenario | store | vs baseline here | vs baseline, compared build | ratio of ratios | the same by server CPU |',
      '|---|---|---:|---:|---:|---:|',
      ...pairs.map(({ m, here, there }) => `| ${m.label} | ${m.store ?? 'baseline'} | ${fixed(here.rps * 100, 0)}% | ` +
        `${fixed(there.rps * 100, 0)}% | ${fixed(here.rps / there.rps, 3)} | ${fixed(here.cpu / there.cpu, 3)} |`))
  }
  if (memory) {
    lines.push('', '## MemoryStore memory', '',
      `${memory.identifiers.toLocaleString('en')} distinct numbers issued a code each (${fixed(memory.issueSeconds, 1)} s), ` +
      'then the clock moved past every expiry and the store swept.', '',
      '| | heap used | external (Buffers) | identifiers in the store |',
      '|---|---:|---:|---:|',
      ...(['start', 'peak', 'end'] as const).map((when) =>
        `| ${when === 'peak' ? 'every number live' : when === 'end' ? 'after expiry' : 'start'} | ${mib(memory[when].heapUsed)} | ` +
        `${mib(memory[when].external)} | ${memory[when].size.toLocaleString('en')} |`))
  }
  if (parts) {
    const evalsha = all.get('evalsha')
    lines.push('', '## What the parts cost', '',
      'CPU time per call of the pieces of a request, each timed alone in one process after the load runs (best of',
      'five rounds of 20,000 calls), from the built package.' +
      (evalsha ? ` For scale: the one-EVALSHA baseline route took ${fixed(cpuPerRequest(evalsha), 0)} µs of server CPU per request in this run.` : ''),
      '',
      '| part | µs per call | done by |',
      '|---|---:|---|',
      ...parts.map((part) => `| ${part.name} | ${fixed(part.micros, 1)} | ${part.where} |`))
  }
  return lines.join('\n') + '\n'
}

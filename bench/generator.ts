// One load-generator process: autocannon, driven by bench/run.ts over IPC. Started with its index as argument;
// the orchestrator runs several of these side by side, each with its share of the connections, so that no single
// generator's event loop sets the pace, and so that their CPU time is their own (each reports it per load, with the
// share of the time its event loop was busy rather than waiting for the server).
import { performance } from 'node:perf_hooks'
import autocannon from 'autocannon'
import type { GeneratorCommand, GeneratorReady, GeneratorReply, GeneratorResult, RawResult } from './load.js'

const index = Number(process.argv[2])
/**
 * The new numbers of this process: a valid Indian mobile number per request, never used before in the run,
 * from a range of its own (+91 90…, ten million per process; the servers issue theirs from +91 98…).
 */
const phoneBase = 9_000_000_000 + index * 10_000_000
let phones = 0

async function run (command: Extract<GeneratorCommand, { op: 'load' }>): Promise<GeneratorResult> {
  const { body, tokens } = command
  let instance: autocannon.Instance | undefined
  let spare = 0
  let used = 0
  const stopOnce = (): void => { if (spare++ === 0) setImmediate(() => instance?.stop()) }
  const nextBody: (() => string | undefined) | undefined =
    body === undefined
      ? undefined
      : body.kind === 'phones'
        ? () => JSON.stringify({ phone: `+91${phoneBase + phones++}`, ...(body.otp === undefined ? {} : { otp: body.otp }) })
        : () => body.bodies[used] === undefined ? undefined : body.bodies[used++]
  let turn = 0
  const request: autocannon.Request = {
    method: command.method,
    path: command.path,
    headers: { ...(command.method === 'POST' ? { 'content-type': 'application/json' } : {}), ...command.headers },
    ...(tokens !== undefined && tokens.length > 0
      ? {
          setupRequest: (req: autocannon.Request) =>
            ({ ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[turn++ % tokens.length] ?? ''}` } })
        }
      : {}),
    ...(nextBody
      ? {
          setupRequest: (req: autocannon.Request) => {
            const next = nextBody()
            if (next !== undefined) return { ...req, body: next }
            // autocannon needs a request here: send an empty body (a 400) and stop.
            stopOnce()
            return { ...req, body: '{}' }
          }
        }
      : {})
  }
  const cpuBefore = process.cpuUsage()
  const loopBefore = performance.eventLoopUtilization()
  const start = performance.now()
  const raw = await new Promise<RawResult>((resolve, reject) => {
    instance = autocannon({
      url: `http://127.0.0.1:${command.port}`,
      connections: command.connections,
      pipelining: 1,
      duration: command.seconds,
      requests: [request],
      // Raw results (latency histograms encoded), so that the orchestrator can add up processes and slices.
      skipAggregateResult: true
    }, (err, res) => { if (err) reject(err); else resolve(res as unknown as RawResult) })
  })
  const seconds = (performance.now() - start) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const loop = performance.eventLoopUtilization(loopBefore)
  return { raw, spare, used, cpuMicros: cpu.user + cpu.system, loopBusy: loop.active / (loop.active + loop.idle), seconds }
}

process.on('message', (command: GeneratorCommand & { id: number }) => {
  if (command.op === 'close') process.exit(0)
  run(command).then(
    (result) => process.send?.({ id: command.id, result } satisfies GeneratorReply),
    (err: unknown) => process.send?.({ id: command.id, error: String(err) } satisfies GeneratorReply)
  )
})
// If the orchestrator goes, so does the generator.
process.on('disconnect', () => process.exit(1))
process.send?.({ ready: true } satisfies GeneratorReady)

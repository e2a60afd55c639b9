import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { buildApp, CODE_SECRET } from './helpers/app.js'
import { recordFaults } from './helpers/faults.js'
import { RedisServer } from './helpers/redis.js'
import { Traffic } from './helpers/traffic.js'

t.test('Redis killed and restarted under load: only 503s meanwhile, answered at once, service back in seconds', async (t) => {
  const faults = recordFaults(t)
  const server = await RedisServer.start()
  t.teardown(() => server.stop())
  // The client settings the README recommends (see `failFast` in helpers/redis.ts).
  const redis = await server.client()
  const { app, codeFor } = await buildApp(t, 'memory', {
    redis, // makes it a RedisStore; the route rate limiter counts in Redis too
    codeSecret: CODE_SECRET,
    rateLimit: { login: { max: 100_000, timeWindow: 60_000 }, verify: { max: 100_000, timeWindow: 60_000 } }
  })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  // Real HTTP: a crash or a reset connection would reject here and fail the test.
  const post = async (url: string, payload: Record<string, string>): Promise<number> => {
    const res = await fetch(base + url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload)
    })
    await res.arrayBuffer()
    return res.status
  }
  const traffic = new Traffic(post, codeFor)

  traffic.start(6)
  await traffic.waitFor('verify', 200, Date.now(), 10_000)
  await sleep(500)
  await server.kill()
  const killed = Date.now() // the process has exited: from here on nothing can succeed
  await sleep(1000)
  const restarting = Date.now()
  t.ok(await server.spawn(), 'redis-server restarted on its port (empty)')
  const recovered = await traffic.waitFor('verify', 200, restarting, 10_000)
  await traffic.waitFor('verify', 200, recovered, 10_000)
  await traffic.stop()

  const outage = traffic.samples.filter((s) => s.at > killed && s.at + s.ms < restarting)
  t.comment(`outage: ${JSON.stringify(traffic.statuses(killed, restarting))}; back ${recovered - restarting} ms after the restart`)
  t.comment(`all: ${JSON.stringify(traffic.statuses())}`)

  t.same(traffic.samples.filter((s) => ![200, 401, 503].includes(s.status)), [], 'only 200, 401 and 503: never a 500')
  t.ok(outage.length > 20, `requests kept flowing during the outage (${outage.length})`)
  t.same(outage.filter((s) => s.status !== 503), [], 'every request during the outage got 503')
  const slowest = Math.max(...outage.map((s) => s.ms))
  t.ok(slowest < 1000, `503s come at once, not after queueing and retries (slowest ${slowest} ms)`)
  t.ok(recovered - restarting < 5000, `logins work again ${recovered - restarting} ms after Redis is back`)
  t.same([...traffic.accepted.values()].filter((times) => times > 1), [], 'no code accepted twice')
  t.same(faults, [], 'no unhandled rejection, no uncaught exception')
})

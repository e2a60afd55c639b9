import t from 'tap'
import { buildApp, CODE_SECRET } from './helpers/app.js'
import { recordFaults } from './helpers/faults.js'
import { SentinelGroup } from './helpers/sentinel.js'
import { Traffic } from './helpers/traffic.js'

t.test('a Sentinel failover under traffic: 503 while it runs, logins after it, no code accepted twice', async (t) => {
  const faults = recordFaults(t)
  const group = await SentinelGroup.start()
  t.teardown(() => group.stop())
  const redis = await group.client()
  const oldMaster = group.masterPort
  // The `redis` option makes this a RedisStore; the route rate limiter keeps its counters there too.
  const { app, codeFor } = await buildApp(t, 'memory', {
    redis,
    codeSecret: CODE_SECRET,
    rateLimit: { login: { max: 100_000, timeWindow: 60_000 }, verify: { max: 100_000, timeWindow: 60_000 } }
  })
  const post = async (url: string, payload: Record<string, string>): Promise<number> =>
    (await app.inject({ method: 'POST', url, payload })).statusCode
  const traffic = new Traffic(post, codeFor)

  traffic.start(4)
  const started = Date.now()
  await traffic.waitFor('verify', 200, started, 10_000)
  const crashed = Date.now()
  await group.crashMaster()
  await group.waitForFailover()
  const promoted = Date.now()
  const recovered = await traffic.waitFor('verify', 200, promoted, 10_000)
  await traffic.waitFor('verify', 200, recovered, 10_000) // and keep going a little
  await traffic.stop()

  t.comment(`failover: ${promoted - crashed} ms to promote, ${recovered - crashed} ms until logins worked again`)
  t.comment(`before: ${JSON.stringify(traffic.statuses(0, crashed))}`)
  t.comment(`during: ${JSON.stringify(traffic.statuses(crashed, recovered))}`)
  t.comment(`after: ${JSON.stringify(traffic.statuses(recovered))}`)

  const unexpected = traffic.samples.filter((s) => ![200, 401, 503].includes(s.status))
  t.same(unexpected, [], 'only 200, 401 and 503: no 500, no limit hit')
  t.ok(traffic.samples.some((s) => s.status === 503 && s.at >= crashed && s.at <= recovered), 'requests during the failover got 503')
  t.ok(traffic.samples.some((s) => s.step === 'verify' && s.status === 200 && s.at < crashed), 'logins before it')
  t.ok(traffic.samples.some((s) => s.step === 'verify' && s.status === 200 && s.at >= recovered), 'logins after it')
  t.same([...traffic.accepted.values()].filter((times) => times > 1), [], 'during the traffic, no code was accepted twice')
  t.same(traffic.samples.filter((s) => s.step === 'wrong' && s.status === 200), [], 'no wrong guess accepted')

  // Every code that earned a token, tried again on the promoted master.
  const replays = await Promise.all([...traffic.accepted.keys()].map(async (key) => {
    const [phone = '', otp = ''] = key.split(' ')
    return await post('/verify-otp', { phone, otp })
  }))
  t.ok(replays.length > 0)
  t.same(replays.filter((status) => status !== 401), [], `none of ${replays.length} accepted codes works again after the failover`)

  t.not(Number(/tcp_port:(\d+)/.exec(await redis.info('server'))?.[1]), oldMaster, 'the client follows the new master')
  t.same(faults, [], 'no unhandled rejection, no uncaught exception')
})

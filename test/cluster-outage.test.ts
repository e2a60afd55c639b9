import t from 'tap'
import { buildApp, CODE_SECRET } from './helpers/app.js'
import { RedisCluster } from './helpers/cluster.js'
import { recordFaults } from './helpers/faults.js'

t.test('a Cluster master down: its numbers get 503 within a second, never a 500; back when it is', async (t) => {
  const faults = recordFaults(t)
  const cluster = await RedisCluster.start()
  t.teardown(() => cluster.stop())
  const client = await cluster.client()
  const { login, verify, codeFor } = await buildApp(t, 'memory', {
    redis: client, // makes it a RedisStore
    codeSecret: CODE_SECRET,
    resendInterval: 0,
    maxSends: 100
  })
  const victim = await cluster.admin(0)

  // Numbers whose keys live on node 0, and numbers whose keys live elsewhere.
  const onVictim: string[] = []
  const elsewhere: string[] = []
  for (let i = 0; onVictim.length < 3 || elsewhere.length < 3; i++) {
    const phone = `+9198${20_000_000 + i}`
    t.equal((await login(phone)).statusCode, 200)
    ;((await victim.keys(`otp:{${phone}}:*`)).length > 0 ? onVictim : elsewhere).push(phone)
  }

  await cluster.nodes[0]?.kill()
  const answers: Array<{ phone: string, status: number, ms: number }> = []
  for (const phone of [...onVictim, ...elsewhere]) {
    for (const request of [() => login(phone), () => verify(phone, codeFor(phone))]) {
      const started = Date.now()
      const { statusCode } = await request()
      answers.push({ phone, status: statusCode, ms: Date.now() - started })
    }
  }
  t.comment(JSON.stringify(answers))
  t.same(answers.filter((a) => onVictim.includes(a.phone) && a.status !== 503), [], "node 0's numbers: 503")
  t.same(answers.filter((a) => ![200, 503].includes(a.status)), [], 'the others: 200, or 503 once the cluster declares itself down')
  const slowest = Math.max(...answers.map((a) => a.ms))
  // At most 6 retries 100 ms apart (clusterFailFast); ioredis's default of 16 takes over 1.6 s.
  t.ok(slowest < 1500, `every answer within ${slowest} ms`)

  t.ok(await cluster.nodes[0]?.spawn(), 'node 0 restarted (empty, same slots)')
  await cluster.waitUntilOk()
  const back = Date.now()
  let status = 0
  const phone = onVictim[0] ?? ''
  while (status !== 200 && Date.now() - back < 5000) status = (await login(phone)).statusCode
  t.equal(status, 200, `node 0's numbers log in again ${Date.now() - back} ms after the cluster is ok`)
  t.equal((await verify(phone, codeFor(phone))).statusCode, 200)
  t.same(faults, [], 'no unhandled rejection, no uncaught exception')
})

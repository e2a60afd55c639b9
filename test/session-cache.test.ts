import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import otpLogin from '../lib/index.js'
import { LiveSessionCache } from '../lib/fast-paths/session-cache.js'
import { CODE_SECRET, JWT_SECRET, freshRedis, sharedRedis } from './helpers/app.js'

const phone = '+919876543210'

/** One instance of an app on the shared Redis: the plugin, /me behind app.authenticate. */
async function instance (t: Test, redis: Redis, options = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(otpLogin, {
    jwt: { secret: JWT_SECRET },
    redis,
    codeSecret: CODE_SECRET,
    rateLimit: false,
    resendInterval: 0,
    maxSends: 100,
    send: () => {},
    testIdentities: { [phone]: '123456' },
    ...options
  })
  app.get('/me', { onRequest: [app.authenticate] }, async () => ({ ok: true }))
  t.teardown(() => app.close())
  await app.ready()
  return app
}

async function signIn (app: FastifyInstance): Promise<{ access: string, refresh: string }> {
  await app.inject({ method: 'POST', url: '/login', payload: { phone } })
  return (await app.inject({ method: 'POST', url: '/verify-otp', payload: { phone, otp: '123456' } })).json()
}

const me = async (app: FastifyInstance, access: string): Promise<number> =>
  (await app.inject({ url: '/me', headers: { authorization: `Bearer ${access}` } })).statusCode

/** Polls until `check` holds or `ms` have passed; how long it took. */
async function within (ms: number, check: () => Promise<boolean>): Promise<number | undefined> {
  const start = Date.now()
  while (Date.now() - start <= ms) {
    if (await check()) return Date.now() - start
    await sleep(20)
  }
  return undefined
}

async function existsCalls (redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats')
  return Number(/cmdstat_exists:calls=(\d+)/.exec(stats)?.[1] ?? 0)
}

/** Whether `app` trusts its session cache within 3 s: a request for `access` then asks Redis nothing. */
async function cacheTrusted (app: FastifyInstance, redis: Redis, access: string): Promise<boolean> {
  return await within(3000, async () => {
    await redis.config('RESETSTAT')
    if (await me(app, access) !== 200) return false
    return await existsCalls(redis) === 0
  }) !== undefined
}

t.test('app.authenticate asks Redis once, then trusts the cache', async (t) => {
  const redis = await freshRedis()
  // A long ttl, so a slow machine cannot make the test's 50 requests outlast it.
  const app = await instance(t, redis, { sessionCache: { ttl: 60_000 } })
  const { access } = await signIn(app)
  t.ok(await cacheTrusted(app, redis, access), 'once the channel is subscribed, a request needs no round trip')
  await redis.config('RESETSTAT')
  for (let i = 0; i < 50; i++) t.equal(await me(app, access), 200)
  t.equal(await existsCalls(redis), 0, 'no round trip for 50 requests')

  const uncached = await instance(t, redis, { sessionCache: false })
  await redis.config('RESETSTAT')
  for (let i = 0; i < 10; i++) t.equal(await me(uncached, access), 200)
  t.equal(await existsCalls(redis), 10, 'without the cache, one round trip a request')
})

t.test('a client made with lazyConnect (as the README shows) gets its channel too', async (t) => {
  await freshRedis()
  const lazy = new Redis({ host: '127.0.0.1', port: (await sharedRedis()).port, lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false })
  t.teardown(() => { lazy.disconnect() })
  await lazy.connect()
  const app = await instance(t, lazy, { sessionCache: { ttl: 60_000 } })
  const { access } = await signIn(app)
  t.ok(await cacheTrusted(app, lazy, access), 'the cache is trusted: the duplicate connected and subscribed')
})

t.test('a session ended on one instance is refused on the others as soon as pub/sub tells them, and at once on its own', async (t) => {
  const redis = await freshRedis()
  const a = await instance(t, redis)
  // A cache that would trust a session for a minute: only the channel's message can make b refuse it sooner.
  const b = await instance(t, (await (await sharedRedis()).client()), { sessionCache: { ttl: 60_000 } })
  for (const [how, end] of [
    ['logout', async (s: { access: string }) => await a.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${s.access}` } })],
    ['revoke', async (s: { access: string }) => await a.otpSessions.revoke('+919876543210', JSON.parse(Buffer.from(s.access.split('.')[1] ?? '', 'base64url').toString()).sid)],
    ['refresh reuse', async (s: { refresh: string }) => {
      await a.inject({ method: 'POST', url: '/refresh', payload: { refresh: s.refresh } })
      await a.inject({ method: 'POST', url: '/refresh', payload: { refresh: s.refresh } }) // within refreshGrace: a retry
      await a.inject({ method: 'POST', url: '/refresh', payload: { refresh: s.refresh } })
    }]
  ] as const) {
    const session = await signIn(a)
    t.equal(await me(a, session.access), 200)
    t.ok(await cacheTrusted(b, redis, session.access), `${how}: b serves the session from its cache, asking Redis nothing`)
    await end(session as { access: string, refresh: string })
    t.equal(await me(a, session.access), 401, `${how}: refused at once on the instance that ended it`)
    // The bound is for a loaded machine; the message comes in milliseconds, and the cache's ttl is 60 s.
    const took = await within(2000, async () => await me(b, session.access) === 401)
    t.ok(took !== undefined, `${how}: refused on the other instance once the channel told it (${String(took)} ms)`)
  }
})

t.test('with the pub/sub connection killed, the other instance goes back to Redis and still refuses the token', async (t) => {
  const redis = await freshRedis()
  const a = await instance(t, redis)
  const b = await instance(t, (await (await sharedRedis()).client()), { sessionCache: { ttl: 60_000 } })
  const session = await signIn(a)
  t.ok(await cacheTrusted(b, redis, session.access), 'b has it cached (for a minute): its channel is subscribed')
  // Both subscribers, a's too, before the kill: a loaded machine may take a moment to send a's SUBSCRIBE.
  const subscribed = async (): Promise<boolean> => String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).trim().split('\n').length >= 2
  t.ok(await within(3000, subscribed) !== undefined, 'both channels are subscribed')
  const killed = await redis.client('KILL', 'TYPE', 'pubsub')
  t.ok(Number(killed) >= 2, 'both instances lost their channel')
  // While the channel is down (its messages would be lost), the logout on A reaches B only through Redis.
  await a.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${session.access}` } })
  t.equal(await me(b, session.access), 401, 'b refuses at once: its cache was dropped with the channel')
  const next = await signIn(a)
  t.ok(await within(2000, async () => await me(b, next.access) === 200) !== undefined, 'and works again once resubscribed')
})

t.test('the cache never grows past its bound', async (t) => {
  let now = 0
  const cache = new LiveSessionCache({ max: 5000, ttl: 1000 }, () => now)
  cache.trusted = true
  for (let i = 0; i < 100_000; i++) cache.add(`user.session${i}`, cache.version)
  t.equal(cache.size, 5000)
  t.ok(cache.has('user.session99999'), 'the newest are kept')
  t.notOk(cache.has('user.session0'), 'the oldest went')
  now += 1001
  t.notOk(cache.has('user.session99999'), 'entries are short-lived')
  const version = cache.version
  cache.drop('user.other')
  cache.add('user.late', version)
  t.notOk(cache.has('user.late'), 'a "live" read from before an invalidation is not cached')
  cache.distrust()
  cache.add('user.x', cache.version)
  t.equal(cache.size, 0, 'nothing is cached while untrusted')
})

t.test('ready() then close() at once logs nothing above info, and the channel\'s connection has ended by then', async (t) => {
  const redis = await freshRedis()
  // The subscriber connections the plugin makes, to wait for their end: a late error would be logged before it.
  const subscribers: Redis[] = []
  const duplicate = redis.duplicate.bind(redis)
  redis.duplicate = (...args) => {
    const subscriber = duplicate(...args)
    subscribers.push(subscriber)
    return subscriber
  }
  const lines: Array<{ level: number, msg?: string }> = []
  for (let i = 0; i < 5; i++) {
    const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
    await app.register(otpLogin, { jwt: { secret: JWT_SECRET }, redis, codeSecret: CODE_SECRET, send: () => {} })
    await app.ready()
    app.log.trace('about to close')
    await app.close()
    t.equal(subscribers.at(-1)?.status, 'end', `close ${i + 1}: the subscriber connection has ended`)
  }
  t.equal(subscribers.length, 5, 'one subscriber per app')
  await Promise.all(subscribers.map(async (subscriber) => { if (subscriber.status !== 'end') await once(subscriber, 'end') }))
  t.equal(lines.filter((line) => line.msg === 'about to close').length, 5, 'the logger collects lines of every level')
  t.same(lines.filter((line) => line.level > 30), [], 'no line above info')
})

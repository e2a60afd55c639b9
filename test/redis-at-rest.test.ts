import Fastify from 'fastify'
import type { Redis } from 'ioredis'
import t from 'tap'
import otpLogin from '../lib/index.js'
import { CODE_SECRET, JWT_SECRET, buildApp, freshRedis, wrongCode } from './helpers/app.js'

const phone = '+919876543210'

async function dumpAll (redis: Redis): Promise<Array<{ key: string, ttl: number, value: string }>> {
  const rows = []
  for (const key of await redis.keys('*')) {
    const type = await redis.type(key)
    const value = type === 'hash' ? JSON.stringify(await redis.hgetall(key)) : String(await redis.get(key))
    rows.push({ key, ttl: await redis.pttl(key), value })
  }
  return rows
}

t.test('every key has a TTL, and no key or value holds a code in clear', async (t) => {
  const { login, verify, codeFor } = await buildApp(t, 'redis', {
    rateLimit: { login: { max: 5, timeWindow: 60_000 } },
    maxAttempts: 3
  })
  const redis = await freshRedis()
  await login(phone)
  const code = codeFor(phone)
  await verify(phone, wrongCode(code))
  const rows = await dumpAll(redis)
  t.same(rows.map((r) => r.key).filter((k) => !k.startsWith('otp:rl:')).sort(),
    [`otp:{${phone}}:ceiling`, `otp:{${phone}}:code`, `otp:{${phone}}:fails`, `otp:{${phone}}:last`, `otp:{${phone}}:sends`])
  for (const row of rows) {
    t.ok(row.ttl > 0, `${row.key} expires (${row.ttl} ms)`)
    t.notMatch(row.key + row.value, code, `${row.key} does not hold the code`)
    t.notMatch(row.key + row.value, wrongCode(code), `${row.key} does not hold the wrong guess`)
  }
  t.ok(rows.find((r) => r.key.endsWith(':code'))?.value.length, 'the code key holds its HMAC')
})

t.test('Redis round trips per request', async (t) => {
  const redis = await freshRedis()
  // Every command the plugin's client sends; a round trip is one command here (the plugin never pipelines).
  const sent: string[] = []
  const sendCommand = redis.sendCommand.bind(redis)
  redis.sendCommand = (command, stream) => { sent.push(command.name); return sendCommand(command, stream) }
  const { app, login, verify, codeFor } = await buildApp(t, 'memory', { redis, codeSecret: CODE_SECRET, resendInterval: 0 })
  // Warm up: the first call of each script loads it (EVALSHA answers NOSCRIPT, ioredis falls back to EVAL).
  await login('+919876543299')
  const warm = await verify('+919876543299', codeFor('+919876543299'))
  const warmTokens = warm.json()
  await app.inject({ method: 'POST', url: '/refresh', payload: { refresh: warmTokens.refresh } })
  await app.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${warmTokens.access}` } })

  const take = (): string[] => sent.splice(0)
  take()
  t.equal((await login(phone)).statusCode, 200)
  t.same(take(), ['evalsha'], 'login: one script call')
  t.equal((await verify(phone, wrongCode(codeFor(phone)))).statusCode, 401)
  t.same(take(), ['evalsha'], 'wrong verify: one script call')
  const right = await verify(phone, codeFor(phone))
  t.equal(right.statusCode, 200)
  t.same(take(), ['evalsha', 'evalsha'], 'right verify: one script for the code, one to start the session')
  await app.inject({ url: '/me', headers: { authorization: `Bearer ${right.json().access}` } })
  t.same(take(), ['exists'], 'an authenticated request: one revocation check')
  await app.inject({ method: 'POST', url: '/refresh', payload: { refresh: right.json().refresh } })
  t.same(take(), ['evalsha'], 'refresh: one script')
  await app.inject({ method: 'POST', url: '/logout', headers: { authorization: `Bearer ${right.json().access}` } })
  t.same(take(), ['evalsha'], 'logout: one script (it checks the revocation itself)')
})

t.test('without sessions, a right verify is one round trip', async (t) => {
  const redis = await freshRedis()
  const sent: string[] = []
  const sendCommand = redis.sendCommand.bind(redis)
  redis.sendCommand = (command, stream) => { sent.push(command.name); return sendCommand(command, stream) }
  const { app, login, verify, codeFor } = await buildApp(t, 'memory', { redis, codeSecret: CODE_SECRET, refreshTokenTtl: false })
  await login(phone)
  await verify(phone, codeFor(phone))
  await login('+919876543299')
  sent.splice(0)
  const right = await verify('+919876543299', codeFor('+919876543299'))
  t.equal(right.statusCode, 200)
  t.notOk('refresh' in right.json(), 'no refresh token')
  t.same(sent.splice(0), ['evalsha'])
  await app.inject({ url: '/me', headers: { authorization: `Bearer ${right.json().access}` } })
  t.same(sent.splice(0), [], 'authenticate checks no session')
  t.equal((await app.inject({ method: 'POST', url: '/refresh', payload: { refresh: 'x' } })).statusCode, 404, 'no /refresh')
})

t.test('no code in any response, header or log line', async (t) => {
  const lines: string[] = []
  const codes: string[] = []
  let failSend = false
  const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  await app.register(otpLogin, {
    jwt: { secret: JWT_SECRET },
    redis: await freshRedis(),
    codeSecret: CODE_SECRET,
    resendInterval: 0,
    send: ({ code }) => {
      codes.push(code)
      if (failSend) throw new Error(`gateway refused message "Your code is ${code}"`)
    }
  })
  const seen: string[] = []
  const call = async (url: string, payload: Record<string, string>) => {
    const res = await app.inject({ method: 'POST', url, payload })
    seen.push(res.body, JSON.stringify(res.headers))
    return res
  }
  await call('/login', { phone })
  const first = codes[0] ?? ''
  await call('/verify-otp', { phone, otp: wrongCode(first) })
  await call('/verify-otp', { phone, otp: first })
  failSend = true
  t.equal((await call('/login', { phone })).statusCode, 502)
  t.equal(codes.length, 2)
  t.match(lines.join('\n'), /gateway refused message .{0,2}Your code is \[code\]/, 'the provider error is logged, masked')
  for (const code of codes) {
    t.notMatch(seen.join('\n'), code, 'not in responses or headers')
    t.notMatch(lines.join('\n'), code, 'not in logs')
  }
})

t.test('a lock or resend marker set by hand without a TTL still holds', async (t) => {
  const { login, verify, codeFor } = await buildApp(t, 'redis', { resendInterval: 30 })
  const redis = await freshRedis()
  await login(phone)
  const code = codeFor(phone)
  await redis.set(`otp:{${phone}}:lock`, '1')
  const refused = await verify(phone, code)
  t.equal(refused.json().code, 'OTP_LOCKED', 'verify refuses')
  t.equal(refused.headers['retry-after'], '3600')
  t.equal((await login(phone)).json().code, 'OTP_LOCKED', 'login refuses')
  const other = '+919876543219'
  await redis.set(`otp:{${other}}:last`, '1')
  t.equal((await login(other)).json().code, 'OTP_RESEND_TOO_SOON')
})

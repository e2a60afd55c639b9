import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { SendArgs } from '../lib/index.js'
import { restoreEnv, sharedRedis } from './helpers/app.js'

// The example app as `npm start` builds it (it imports the package by name, so dist/ must be built).
t.test('the example app: page, login, verify, /me', async (t) => {
  const codes: string[] = []
  const examplePath = '../example-app/app.mjs' // a plain .mjs file: no types to resolve
  const { buildExampleApp } = await import(examplePath) as {
    buildExampleApp: (o: { send: (a: SendArgs) => void, logger: boolean }) => Promise<FastifyInstance>
  }
  const app = await buildExampleApp({ send: ({ code }) => { codes.push(code) }, logger: false })
  t.teardown(() => app.close())

  const page = await app.inject({ url: '/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  t.match(page.body, /\/api\/auth\/verify-otp/)

  const phone = '+919876543210'
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { phone } })).statusCode, 200)
  const verified = await app.inject({ method: 'POST', url: '/api/auth/verify-otp', payload: { phone, otp: codes[0] } })
  t.equal(verified.statusCode, 200)
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${verified.json().access}` } })
  t.equal(me.statusCode, 200)
  t.equal(me.json().user.phone, phone)
  t.equal((await app.inject({ url: '/me' })).statusCode, 401)
})

t.test('the example app on Redis when REDIS_URL is set', async (t) => {
  const server = await sharedRedis()
  const secret = process.env.OTP_CODE_SECRET
  process.env.OTP_CODE_SECRET = 'example-code-secret-example-code-secret'
  t.teardown(() => { restoreEnv('OTP_CODE_SECRET', secret) })
  const codes: string[] = []
  const examplePath = '../example-app/app.mjs'
  const { buildExampleApp } = await import(examplePath) as {
    buildExampleApp: (o: { redisUrl: string, send: (a: SendArgs) => void, logger: boolean }) => Promise<FastifyInstance>
  }
  const app = await buildExampleApp({ redisUrl: `redis://127.0.0.1:${server.port}`, send: ({ code }) => { codes.push(code) }, logger: false })
  t.teardown(() => app.close())
  await app.ready()

  const phone = '+919876543222'
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/login', payload: { phone } })).statusCode, 200)
  const redis = await server.client()
  t.ok((await redis.keys(`otp:{${phone}}:*`)).length > 0, 'the code lives in Redis')
  const verified = await app.inject({ method: 'POST', url: '/api/auth/verify-otp', payload: { phone, otp: codes[0] } })
  t.equal(verified.statusCode, 200)
})

t.test('the example app refuses Redis without OTP_CODE_SECRET', async (t) => {
  const secret = process.env.OTP_CODE_SECRET
  delete process.env.OTP_CODE_SECRET
  t.teardown(() => { restoreEnv('OTP_CODE_SECRET', secret) })
  const examplePath = '../example-app/app.mjs'
  const { buildExampleApp } = await import(examplePath) as { buildExampleApp: (o: object) => Promise<FastifyInstance> }
  await t.rejects(buildExampleApp({ redisUrl: 'redis://127.0.0.1:1', send: () => {}, logger: false }), /OTP_CODE_SECRET/)
})

import t from 'tap'
import { buildApp, sharedRedis } from './helpers/app.js'

const [a, b] = ['+919876543210', '+919876543211']

t.test("a code's stored hash is bound to its number: A's hash copied to B's key does not let A's code log in B", async (t) => {
  const { login, verify, codeFor } = await buildApp(t, 'redis')
  const redis = await (await sharedRedis()).client()
  await login(a)
  await login(b) // so B's code key exists
  const codeA = codeFor(a)
  const hashA = await redis.hget(`otp:{${a}}:code`, 'h')
  t.ok(hashA, "A's code hash is stored under field h")
  await redis.hset(`otp:{${b}}:code`, 'h', hashA ?? '')

  const res = await verify(b, codeA)
  t.equal(res.statusCode, 401, "B with A's code and A's hash: refused")
  t.equal(res.json().code, 'OTP_INVALID')
  t.equal((await verify(a, codeA)).statusCode, 200, "A's code still logs in A")
})

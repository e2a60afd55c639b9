import t, { type Test } from 'tap'
import { buildApp } from './helpers/app.js'

interface Case { name: string, payload: string, contentType?: string, code?: string }

const json = (value: unknown): string => JSON.stringify(value)
const phone = '+919876543210'

const loginCases: Case[] = [
  { name: 'missing phone', payload: json({}), code: 'FST_ERR_VALIDATION' },
  { name: 'extra field', payload: json({ phone, admin: true }), code: 'FST_ERR_VALIDATION' },
  { name: 'phone as a number', payload: json({ phone: 919876543210 }), code: 'FST_ERR_VALIDATION' },
  { name: 'phone as an array', payload: json({ phone: [phone] }), code: 'FST_ERR_VALIDATION' },
  { name: 'phone as an object', payload: json({ phone: { $gt: '' } }), code: 'FST_ERR_VALIDATION' },
  { name: 'phone null', payload: json({ phone: null }), code: 'FST_ERR_VALIDATION' },
  { name: 'empty phone', payload: json({ phone: '' }), code: 'FST_ERR_VALIDATION' },
  { name: 'over-long phone', payload: json({ phone: '+9'.padEnd(33, '1') }), code: 'FST_ERR_VALIDATION' },
  { name: 'body an array', payload: json([{ phone }]), code: 'FST_ERR_VALIDATION' },
  { name: 'body a string', payload: json(phone), code: 'FST_ERR_VALIDATION' },
  { name: 'body null', payload: 'null', code: 'FST_ERR_VALIDATION' },
  { name: 'invalid JSON', payload: '{"phone": "+91', code: 'FST_ERR_CTP_INVALID_JSON_BODY' },
  { name: 'empty JSON body', payload: '', code: 'FST_ERR_CTP_EMPTY_JSON_BODY' },
  { name: 'prototype poisoning', payload: '{"phone":"+919876543210","__proto__":{"x":1}}' },
  { name: 'huge body', payload: json({ phone: 'x'.repeat(100_000) }), code: 'FST_ERR_CTP_BODY_TOO_LARGE' },
  { name: 'form encoded', payload: `phone=${phone}`, contentType: 'application/x-www-form-urlencoded', code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' },
  { name: 'text/plain', payload: json({ phone }), contentType: 'text/plain', code: 'FST_ERR_VALIDATION' },
  { name: 'letters', payload: json({ phone: 'call me maybe' }), code: 'OTP_INVALID_PHONE' },
  { name: 'control characters', payload: json({ phone: '+91\u0000987654\n3210' }), code: 'OTP_INVALID_PHONE' }
]

const verifyCases: Case[] = [
  { name: 'missing otp', payload: json({ phone }), code: 'FST_ERR_VALIDATION' },
  { name: 'missing phone', payload: json({ otp: '123456' }), code: 'FST_ERR_VALIDATION' },
  { name: 'otp as a number', payload: json({ phone, otp: 123456 }), code: 'FST_ERR_VALIDATION' },
  { name: 'otp too short', payload: json({ phone, otp: '12345' }), code: 'FST_ERR_VALIDATION' },
  { name: 'otp too long', payload: json({ phone, otp: '1234567' }), code: 'FST_ERR_VALIDATION' },
  { name: 'otp with letters', payload: json({ phone, otp: '12345a' }), code: 'FST_ERR_VALIDATION' },
  { name: 'otp in full-width digits', payload: json({ phone, otp: '１２３４５６' }), code: 'FST_ERR_VALIDATION' },
  { name: 'otp in Arabic-Indic digits', payload: json({ phone, otp: '١٢٣٤٥٦' }), code: 'FST_ERR_VALIDATION' },
  { name: 'otp with spaces', payload: json({ phone, otp: ' 12345' }), code: 'FST_ERR_VALIDATION' },
  { name: 'otp as an array', payload: json({ phone, otp: ['123456'] }), code: 'FST_ERR_VALIDATION' },
  { name: 'otp as an object', payload: json({ phone, otp: { $ne: '' } }), code: 'FST_ERR_VALIDATION' },
  { name: 'extra field', payload: json({ phone, otp: '123456', user: 'admin' }), code: 'FST_ERR_VALIDATION' },
  { name: 'invalid phone', payload: json({ phone: '+1', otp: '123456' }), code: 'OTP_INVALID_PHONE' },
  { name: 'invalid JSON', payload: '{"phone":', code: 'FST_ERR_CTP_INVALID_JSON_BODY' }
]

async function check (t: Test, url: string, cases: Case[]): Promise<void> {
  const { app, sent } = await buildApp(t, 'memory')
  for (const c of cases) {
    const res = await app.inject({
      method: 'POST',
      url,
      payload: c.payload,
      headers: { 'content-type': c.contentType ?? 'application/json' }
    })
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${c.name}: ${res.statusCode} is a 4xx`)
    const body = res.json()
    t.equal(body.statusCode, res.statusCode, `${c.name}: a Fastify error body`)
    if (c.code !== undefined) t.equal(body.code, c.code, c.name)
  }
  t.equal(sent.length, 0, 'nothing was sent')
}

t.test('POST /login refuses malformed bodies with a coded 4xx', async (t) => { await check(t, '/login', loginCases) })
t.test('POST /verify-otp refuses malformed bodies with a coded 4xx', async (t) => { await check(t, '/verify-otp', verifyCases) })

t.test('other methods and unknown routes are 404, not 5xx', async (t) => {
  const { app } = await buildApp(t, 'memory')
  t.equal((await app.inject({ method: 'GET', url: '/login' })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/verify' })).statusCode, 404)
})

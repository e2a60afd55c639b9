import t from 'tap'
import { buildApp, identifierKinds, identifiers, storeKinds } from './helpers/app.js'

for (const kind of storeKinds) {
  for (const idKind of identifierKinds) {
    const ids = identifiers(idKind)
    const id = ids.a
    t.test(`${kind} store, ${idKind}`, async (t) => {
      t.test('a code is sent and the answer says when it expires', async (t) => {
        const { login, sent } = await buildApp(t, kind, ids.options)
        const res = await login(id)
        t.equal(res.statusCode, 200)
        t.same(res.json(), { message: 'OTP sent', expiresIn: 600, resendIn: 30 })
        t.equal(sent.length, 1)
        t.equal(sent[0]?.channel, ids.channel)
        t.equal(sent[0]?.to, id)
        t.equal(sent[0]?.expiresIn, 600)
        t.match(sent[0]?.code, /^[0-9]{6}$/)
        t.notMatch(res.body + JSON.stringify(res.headers), sent[0]?.code ?? 'x', 'the code is not in the response')
      })

      t.test('codeLength, codeTtl and resendInterval shape the answer and the code', async (t) => {
        const { login, sent } = await buildApp(t, kind, { ...ids.options, codeLength: 8, codeTtl: 120, resendInterval: 0 })
        const res = await login(id)
        t.same(res.json(), { message: 'OTP sent', expiresIn: 120, resendIn: 0 })
        t.match(sent[0]?.code, /^[0-9]{8}$/)
      })

      t.test('new and known users get byte-for-byte the same answer', async (t) => {
        const users = new Set<string>()
        const { login, verify, codeFor } = await buildApp(t, kind, {
          ...ids.options,
          findOrCreateUser: ({ phone, email }) => { users.add(String(phone ?? email)); return { id: String(phone ?? email) } }
        })
        const known = ids.b
        await login(known)
        t.equal((await verify(known, codeFor(known))).statusCode, 200)
        t.ok(users.has(known), 'registered on first login')

        const forNew = await login(ids.c)
        const forKnown = await login(known)
        t.equal(forNew.statusCode, forKnown.statusCode)
        t.equal(forNew.body, forKnown.body)
        const headers = (res: typeof forNew) => Object.keys(res.headers).filter((h) => h !== 'date').sort().map((h) => `${h}: ${String(res.headers[h])}`)
        t.same(headers(forNew), headers(forKnown))
      })

      t.test('a second code within resendInterval: 429 OTP_RESEND_TOO_SOON with Retry-After', async (t) => {
        const { login, sent } = await buildApp(t, kind, { ...ids.options, resendInterval: 30 })
        await login(id)
        const res = await login(id)
        t.equal(res.statusCode, 429)
        t.equal(res.json().code, 'OTP_RESEND_TOO_SOON')
        t.equal(res.headers['retry-after'], '30')
        t.equal(res.json().retryAfter, 30)
        t.equal(sent.length, 1)
      })

      t.test('maxSends codes, then 429 OTP_LOCKED until the window ends', async (t) => {
        const { login, sent } = await buildApp(t, kind, { ...ids.options, resendInterval: 0 })
        for (let i = 0; i < 3; i++) t.equal((await login(id)).statusCode, 200)
        const res = await login(id)
        t.equal(res.statusCode, 429)
        t.equal(res.json().code, 'OTP_LOCKED')
        const retryAfter = Number(res.headers['retry-after'])
        t.ok(retryAfter > 3590 && retryAfter <= 3600, `Retry-After ${retryAfter}`)
        t.equal(res.json().retryAfter, retryAfter)
        t.equal(sent.length, 3)
        t.equal((await login(ids.c)).statusCode, 200, 'others are not affected')
      })

      t.test('a failing send: 502 OTP_DELIVERY_FAILED, no valid code left, the send not counted', async (t) => {
        const tried: string[] = []
        let fail = true
        const { login, verify } = await buildApp(t, kind, {
          ...ids.options,
          maxSends: 1,
          send: ({ code }) => {
            tried.push(code)
            if (fail) throw new Error(`provider said no to "Your code is ${code}"`)
          }
        })
        const res = await login(id)
        t.equal(res.statusCode, 502)
        t.same(Object.keys(res.json()).sort(), ['code', 'error', 'message', 'statusCode'])
        t.equal(res.json().code, 'OTP_DELIVERY_FAILED')
        t.notMatch(res.body, 'provider', 'the provider error stays out of the response')
        t.equal((await verify(id, tried[0] ?? '')).statusCode, 401, 'the undelivered code does not work')
        fail = false
        t.equal((await login(id)).statusCode, 200, 'neither maxSends nor the resend interval counted the failure')
        t.equal((await verify(id, tried[1] ?? '')).statusCode, 200)
      })

      t.test('a send that may have been delivered (a timeout) still counts: no way round maxSends', async (t) => {
        const { login, verify } = await buildApp(t, kind, {
          ...ids.options,
          maxSends: 2,
          resendInterval: 0,
          sendTimeout: 100,
          send: async () => await new Promise<void>(() => {}) // a provider that never answers
        })
        const answers: string[] = []
        for (let i = 0; i < 4; i++) answers.push((await login(id)).json().code)
        t.same(answers, ['OTP_DELIVERY_FAILED', 'OTP_DELIVERY_FAILED', 'OTP_LOCKED', 'OTP_LOCKED'])
        t.equal((await verify(id, '123456')).statusCode, 401, 'and no code is left behind')
      })

      t.test('a sender error marked outcome unknown counts too; a plain one does not', async (t) => {
        let outcome: string | undefined = 'unknown'
        const { login } = await buildApp(t, kind, {
          ...ids.options,
          resendInterval: 30,
          send: () => { throw Object.assign(new Error('gateway timeout'), { outcome }) }
        })
        t.equal((await login(id)).json().code, 'OTP_DELIVERY_FAILED')
        t.equal((await login(id)).json().code, 'OTP_RESEND_TOO_SOON', 'maybe delivered: the resend wait holds')
        outcome = undefined
        t.equal((await login(ids.b)).json().code, 'OTP_DELIVERY_FAILED')
        t.equal((await login(ids.b)).json().code, 'OTP_DELIVERY_FAILED', 'refused: given back, no wait')
      })

      t.test('a send that rejects with something unprintable is still a 502', async (t) => {
        const { login } = await buildApp(t, kind, { ...ids.options, send: async () => await Promise.reject(Object.create(null)) })
        const res = await login(id)
        t.equal(res.statusCode, 502)
        t.equal(res.json().code, 'OTP_DELIVERY_FAILED')
      })
    })
  }
}

for (const kind of storeKinds) {
  t.test(`${kind} store: phone numbers: E.164, national with defaultCountry, allowedCountries`, async (t) => {
    const { login, sent } = await buildApp(t, kind, { defaultCountry: 'IN', allowedCountries: ['IN', 'US'] })
    t.equal((await login('98765 43210')).statusCode, 200)
    t.equal(sent[0]?.to, '+919876543210', 'national format read as E.164')
    t.equal((await login('+1 650-253-0000')).statusCode, 200)
    t.equal(sent[1]?.to, '+16502530000')
    t.equal((await login('  +91 98765 43211 ')).statusCode, 200, 'spaces around the number are trimmed')
    t.equal(sent[2]?.to, '+919876543211')
    // As phones copy numbers from contacts and chats: direction marks, a zero-width space, a bracketed code.
    for (const [written, e164] of <Array<[string, string]>>[['\u202a+91 98765 43213\u202c', '+919876543213'], ['\u200b+919876543214', '+919876543214'], ['(+91) 98765 43215', '+919876543215']]) {
      t.equal((await login(written)).statusCode, 200, JSON.stringify(written))
      t.equal(sent.at(-1)?.to, e164)
    }
    const refused = [
      '+447911123456', '12', 'not a number', '+91 12345', '+80012345678',
      'call +919876543212 now', 'tel:+919876543212', '+91 98765 43212 ext. 12' // the field must be the number alone
    ]
    for (const bad of refused) {
      const res = await login(bad)
      t.equal(res.statusCode, 400, bad)
      t.equal(res.json().code, 'OTP_INVALID_PHONE', bad)
    }
    t.equal(sent.length, 6, 'nothing sent for refused numbers')
  })
}

import t from 'tap'
import { normalizeEmail } from '../lib/identity.js'
import { buildApp, claims, storeKinds, wrongCode } from './helpers/app.js'

// One mailbox, written five ways: Unicode, punycode, upper case, and with the ideographic and full-width dots
// that a Chinese or Japanese keyboard types; plus ü as u and a combining diaeresis (NFD).
const identifier = 'ana@xn--bcher-kva.de'
const spellings = ['ana@bücher.de', 'ana@xn--bcher-kva.de', 'ANA@BÜCHER.DE', 'ana@bücher。de', 'ana@bücher．de', 'ana@bu\u0308cher.de', ' Ana@XN--BCHER-KVA.DE ']

t.test('normalizeEmail: every spelling of an internationalised domain gives one identifier, in ASCII', async (t) => {
  for (const spelling of spellings) t.equal(normalizeEmail(spelling)?.value, identifier, JSON.stringify(spelling))
  t.equal(normalizeEmail('ana@ｂüｃｈｅｒ.ｄｅ')?.value, identifier, 'full-width letters')
  t.equal(normalizeEmail('ana@пример.рф')?.value, 'ana@xn--e1afmkfd.xn--p1ai', 'a Unicode top-level domain')
  t.equal(normalizeEmail('ana@mail.xn--p1ai')?.value, 'ana@mail.xn--p1ai', 'an ASCII punycode top-level domain')
  t.equal(normalizeEmail('Ünal@Bücher.de')?.value, 'ünal@xn--bcher-kva.de', 'the local part keeps its Unicode, lower-cased')
  t.equal(normalizeEmail('u\u0308nal@example.com')?.value, 'ünal@example.com', 'in NFC')
  t.equal(normalizeEmail('ana@straße.de')?.value, 'ana@xn--strae-oqa.de', 'ß is kept (IDNA 2008), not folded to ss')
  t.match(normalizeEmail('ana@bücher.de'), { kind: 'email', channel: 'email' })
})

t.test('normalizeEmail refuses what is not a mailbox domain, and keeps its earlier refusals', async (t) => {
  const refused = [
    // what domainToASCII refuses ('') or gives that is not a host name
    'ana@xn--a.com', 'ana@a\u200db.com', 'ana@exa\u3000mple.com', 'ana@⒈.com', 'ana@xn--abc-.com', 'ana@-a.com',
    'ana@a_b.com', 'ana@ａ＿ｂ.com', 'ana@127.0.0.1', 'ana@0x7f.1', 'ana@example.123', 'ana@example.c0m',
    `ana@${'ü'.repeat(60)}.de`,
    // what domainToASCII would read as a URL's host: percent-decoded, or cut at / ? # \ :
    'ana@ex%61mple.com', 'ana@example.com/x', 'ana@example.com?x', 'ana@example.com#x', 'ana@example.com\\x', 'ana@example.com:80',
    // as before
    'ana', 'ana@', '@example.com', 'ana@example', 'ana@@example.com', 'ana@example.com@x.com', 'ana @example.com',
    '.ana@example.com', 'ana.@example.com', 'a..b@example.com', 'ana@example..com', 'ana@.example.com', 'ana@example.com.',
    '"ana"@example.com', 'ana@[127.0.0.1]', '}x@example.com', 'a{b}@example.com', 'a*@example.com', 'a?b@example.com',
    `${'a'.repeat(65)}@example.com`
  ]
  for (const email of refused) t.equal(normalizeEmail(email), undefined, JSON.stringify(email))
  // 254 characters in the ASCII form, which is what is stored and sent.
  const domain = (length: number) => `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(length - 4 - 3 * 64)}.com`
  t.equal(normalizeEmail(`an@${domain(251)}`)?.value.length, 254)
  t.equal(normalizeEmail(`ana@${domain(251)}`), undefined, '255 characters')
  t.equal(normalizeEmail(`an@${domain(250).replace('dddd', 'ü')}`), undefined, 'short as written, over 254 in ASCII')
})

for (const kind of storeKinds) {
  t.test(`${kind} store: a code asked for with one spelling of the domain verifies with another`, async (t) => {
    const { app, sent } = await buildApp(t, kind, {
      identifierKinds: ['phone', 'email'],
      resendInterval: 0,
      findOrCreateUser: (args) => ({ id: `user:${args.email ?? args.phone}` })
    })
    const post = async (url: string, payload: object) => await app.inject({ method: 'POST', url, payload })
    const users = new Set<unknown>()
    for (const [asked, verified] of [['ana@bücher.de', 'ana@xn--bcher-kva.de'], ['ana@xn--bcher-kva.de', 'ANA@BÜCHER．DE'], ['Ana@BÜCHER.DE', 'ana@bücher。de']] as const) {
      t.equal((await post('/login', { email: asked })).statusCode, 200, asked)
      t.equal(sent.at(-1)?.to, identifier, 'sent to the ASCII address')
      const res = await post('/verify-otp', { email: verified, otp: sent.at(-1)?.code ?? '' })
      t.equal(res.statusCode, 200, `${asked} then ${verified}`)
      const c = claims(res.json().access)
      t.equal(c.email, identifier, 'the token carries the ASCII address')
      users.add(c.sub)
    }
    t.same([...users], [`user:${identifier}`], 'one user')
  })

  t.test(`${kind} store: the send window, resend interval and lockout are shared by every spelling`, async (t) => {
    const { app, sent } = await buildApp(t, kind, { identifierKinds: ['phone', 'email'], maxFailures: 2 })
    const post = async (url: string, payload: object) => await app.inject({ method: 'POST', url, payload })
    t.equal((await post('/login', { email: 'ana@bücher.de' })).statusCode, 200)
    const tooSoon = await post('/login', { email: 'ana@xn--bcher-kva.de' })
    t.equal(tooSoon.json().code, 'OTP_RESEND_TOO_SOON', 'the resend interval')

    const relaxed = await buildApp(t, kind, { identifierKinds: ['phone', 'email'], maxSends: 2, resendInterval: 0 })
    for (const email of ['ana@bücher.de', 'ana@xn--bcher-kva.de']) t.equal((await relaxed.login(email)).statusCode, 200, email)
    const third = await relaxed.login('ANA@BÜCHER．DE')
    t.equal(third.statusCode, 429)
    t.equal(third.json().code, 'OTP_LOCKED', 'maxSends counts every spelling')

    const code = sent.at(-1)?.code ?? ''
    t.equal((await post('/verify-otp', { email: 'ana@bücher.de', otp: wrongCode(code) })).statusCode, 401)
    t.equal((await post('/verify-otp', { email: 'ana@xn--bcher-kva.de', otp: wrongCode(code) })).json().code, 'OTP_LOCKED',
      'maxFailures counts every spelling')
    const right = await post('/verify-otp', { email: 'ANA@BÜCHER.DE', otp: code })
    t.equal(right.json().code, 'OTP_LOCKED', 'and the lockout holds for all of them')
  })
}

t.test('a bad domain is 400 OTP_INVALID_EMAIL on both routes, never a 500, and nothing is sent', async (t) => {
  const { app, sent } = await buildApp(t, 'memory', { identifierKinds: ['phone', 'email'] })
  const post = async (url: string, payload: object) => await app.inject({ method: 'POST', url, payload })
  for (const email of ['ana@xn--a.com', 'ana@a\u200db.com', 'ana@ex%61mple.com', 'ana@example.com/x', 'ana@0x7f.1', 'ana@ａ＿ｂ.com', 'ana@⒈.com', `ana@${'ü'.repeat(60)}.de`]) {
    for (const [url, body] of [['/login', { email }], ['/verify-otp', { email, otp: '123456' }]] as const) {
      const res = await post(url, body)
      t.equal(res.statusCode, 400, `${url} ${email}`)
      t.equal(res.json().code, 'OTP_INVALID_EMAIL', `${url} ${email}`)
    }
  }
  t.equal(sent.length, 0)
})

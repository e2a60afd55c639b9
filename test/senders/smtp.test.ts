import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import t from 'tap'
import { SendError, smtpSender, type SmtpSenderOptions } from '../../lib/index.js'
import { startFakeSmtp, type FakeSmtpServer } from '../helpers/fake-smtp.js'
import { closedPort, sendArgs } from '../helpers/fake-request.js'

const to = 'ana@example.com'
const options = (fake: Pick<FakeSmtpServer, 'host' | 'port'>, more: Partial<SmtpSenderOptions> = {}): SmtpSenderOptions => ({
  host: fake.host,
  port: fake.port,
  requireTLS: false,
  from: '"Acme" <no-reply@acme.test>',
  timeout: 5000,
  ...more
})

t.test('one message: envelope, login, headers, the default text and HTML bodies', async (t) => {
  const fake = await startFakeSmtp(t, { users: { mailer: 'mail-password' } })
  await smtpSender(options(fake, { auth: { user: 'mailer', pass: 'mail-password' }, appName: 'Acme' }))(sendArgs('email', to))
  t.equal(fake.mails.length, 1)
  const mail = fake.mails[0]!
  t.same({ from: mail.from, to: mail.to, user: mail.user }, { from: 'no-reply@acme.test', to: [to], user: 'mailer' })
  t.equal(mail.parsed.from?.text, '"Acme" <no-reply@acme.test>')
  t.same(mail.parsed.to && !Array.isArray(mail.parsed.to) ? mail.parsed.to.value.map((a) => a.address) : [], [to])
  t.equal(mail.parsed.subject, 'Your Acme login code')
  t.equal(mail.parsed.text, 'Your Acme code is 123456. It expires in 10 minutes.\n\nIf you did not ask for this code, you can ignore this e-mail.\n')
  t.equal(mail.parsed.html, [
    '<!doctype html>',
    '<html><body>',
    '<p>Your Acme code is <strong>123456</strong>. It expires in 10 minutes.</p>',
    '<p>If you did not ask for this code, you can ignore this e-mail.</p>',
    '</body></html>',
    ''
  ].join('\n'))
  t.match(mail.raw, /Content-Type: multipart\/alternative/)
})

t.test('HTML is escaped: appName in the default body, placeholder values in an HTML template', async (t) => {
  const fake = await startFakeSmtp(t)
  await smtpSender(options(fake, { appName: 'Tom & <Jerry>' }))(sendArgs('email', to))
  t.match(fake.mails[0]?.parsed.html, '<p>Your Tom &#38; &#60;Jerry&#62; code is <strong>123456</strong>.')
  t.equal(fake.mails[0]?.parsed.subject, 'Your Tom & <Jerry> login code', 'a subject is text, not HTML')
  await smtpSender(options(fake, {
    appName: '<b>Acme</b>',
    templates: { email: { subject: '{appName} code', text: 'Code: {code}', html: '<h1>{appName}</h1><p>{code}, {minutes} min</p>' } }
  }))(sendArgs('email', to))
  t.equal(fake.mails[1]?.parsed.subject, '<b>Acme</b> code')
  t.equal(fake.mails[1]?.parsed.text, 'Code: 123456')
  t.equal(fake.mails[1]?.parsed.html, '<h1>&#60;b&#62;Acme&#60;/b&#62;</h1><p>123456, 10 min</p>')
})

t.test('a template function gets the locale: a translated, text-only e-mail', async (t) => {
  const fake = await startFakeSmtp(t)
  const send = smtpSender(options(fake, {
    templates: {
      email: ({ code, minutes, locale }) => locale === 'fr-FR'
        ? { subject: 'Votre code de connexion', text: `Votre code est ${code}. Il expire dans ${minutes} minutes.` }
        : { subject: 'Your login code', text: `Your code is ${code}.` }
    }
  }))
  await send(sendArgs('email', to, { 'accept-language': 'fr-fr;q=0.9, en;q=0.8' }))
  t.equal(fake.mails[0]?.parsed.subject, 'Votre code de connexion')
  // mailparser ends the text of a single-part message with a newline of its own.
  t.equal(fake.mails[0]?.parsed.text, 'Votre code est 123456. Il expire dans 10 minutes.\n')
  t.match(fake.mails[0]?.raw, /^Content-Type: text\/plain; charset=utf-8$/m)
  t.equal(fake.mails[0]?.parsed.html, false, 'no HTML part when the template gives none')
})

t.test('by default TLS is required: a server without STARTTLS gets nothing', async (t) => {
  const fake = await startFakeSmtp(t)
  const err = await smtpSender(options(fake, { requireTLS: undefined }))(sendArgs('email', to)).catch((e: unknown) => e)
  t.ok(err instanceof SendError)
  t.equal((err as Error).message, 'SMTP failed (ETLS 500): 500 Error: command not recognized', 'STARTTLS was tried and refused')
  t.equal(fake.mails.length, 0)
})

t.test('STARTTLS: the message goes over TLS (the fake has an untrusted certificate, so rejectUnauthorized is off)', async (t) => {
  const fake = await startFakeSmtp(t, { starttls: true })
  await smtpSender(options(fake, { requireTLS: undefined, tls: { rejectUnauthorized: false } }))(sendArgs('email', to))
  t.equal(fake.mails[0]?.secure, true)
  const refused = await smtpSender(options(fake, { requireTLS: undefined }))(sendArgs('email', to)).catch((e: unknown) => e)
  t.match((refused as Error).message, /^SMTP failed \(ESOCKET\): .*certificate/, 'and the certificate is checked by default')
  t.equal(fake.mails.length, 1)
})

t.test("the server's refusals become SendErrors with its reply code and text, the code masked", async (t) => {
  const fake = await startFakeSmtp(t, { users: { mailer: 'mail-password' } })
  await t.rejects(smtpSender(options(fake, { auth: { user: 'mailer', pass: 'wrong' } }))(sendArgs('email', to)), {
    name: 'OtpSendError', status: 535, message: /^SMTP failed \(EAUTH 535\): .*Authentication credentials invalid/
  })
  const rejecting = await startFakeSmtp(t, { reject: { code: 554, message: '5.7.1 Message 123456 rejected as spam' } })
  const err = await smtpSender(options(rejecting))(sendArgs('email', to)).catch((e: unknown) => e) as SendError
  t.equal(err.status, 554)
  t.equal(err.message, 'SMTP failed (EMESSAGE 554): 554 5.7.1 Message [redacted] rejected as spam')
  t.equal(fake.mails.length + rejecting.mails.length, 0)
})

for (const hang of ['greeting', 'data'] as const) {
  t.test(`a server that hangs at the ${hang}: the send fails at the timeout, one connection`, async (t) => {
    const fake = await startFakeSmtp(t, { hang })
    const started = performance.now()
    await t.rejects(smtpSender(options(fake, { timeout: 200 }))(sendArgs('email', to)), {
      name: 'OtpSendError', message: 'SMTP did not answer within 200 ms', outcome: 'unknown'
    })
    const took = performance.now() - started
    t.ok(took >= 190 && took < 3000, `gave up after ${Math.round(took)} ms`)
    t.equal(fake.connections, 1, 'no retry')
  })
}

t.test('nothing listening: a SendError naming the reason', async (t) => {
  await t.rejects(smtpSender(options({ host: '127.0.0.1', port: await closedPort() }))(sendArgs('email', to)), {
    message: /^SMTP failed \(ESOCKET\): .*ECONNREFUSED/,
    outcome: 'refused'
  })
})

t.test('an SMS code is refused; options are checked at creation', async (t) => {
  const fake = await startFakeSmtp(t)
  await t.rejects(smtpSender(options(fake))(sendArgs('sms', '+919876543210')), /smtpSender delivers e-mail only/)
  t.equal(fake.connections, 0)
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ host: '' }, /option "host" is required/],
    [{ from: undefined }, /option "from" is required/],
    [{ port: 70000 }, /option "port" must be a port number/],
    [{ secure: 'yes' }, /option "secure" must be true or false/],
    [{ auth: { user: 'mailer' } }, /option "auth" must be \{ user, pass \}/],
    [{ templates: { email: { subject: 'Code', text: '{code}', html: '<p>your code</p>' } } }, /option "templates.email.html" must contain \{code\}/],
    [{ templates: { sms: '{code}' } }, /has no channel "sms"/],
    [{ pool: true }, /smtpSender has no option "pool"/]
  ]
  for (const [change, message] of cases) {
    t.throws(() => smtpSender({ ...options(fake), ...change } as SmtpSenderOptions), message, JSON.stringify(change))
  }
})

t.test('nodemailer is loaded only when smtpSender is called, and its absence is explained', async (t) => {
  // The built package (npm test builds it first), in a process where require('nodemailer') fails as if not installed.
  const script = `
    const Module = require('node:module')
    const resolve = Module._resolveFilename
    Module._resolveFilename = function (request, ...rest) {
      if (request === 'nodemailer') throw Object.assign(new Error("Cannot find module 'nodemailer'"), { code: 'MODULE_NOT_FOUND' })
      return resolve.call(this, request, ...rest)
    }
    const otp = require('fastify-otp-login')
    otp.webhookSender({ url: 'http://127.0.0.1:1', secret: 'whsec_' + 'x'.repeat(32) })
    try { otp.smtpSender({ host: '127.0.0.1', from: 'a@example.com' }) } catch (err) { console.log(err.message) }`
  const output = execFileSync(process.execPath, ['-e', script], { cwd: join(__dirname, '../..'), encoding: 'utf8' })
  t.equal(output.trim(), 'fastify-otp-login: smtpSender needs the nodemailer package; install it with `npm install nodemailer`')
})

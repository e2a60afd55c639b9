import t from 'tap'
import { senderFail } from '../../lib/senders/delivery.js'
import { escapeHtml, messageRenderers, preferredLocale, type EmailTemplate, type MessageContext } from '../../lib/senders/template.js'
import { sendArgs } from '../helpers/fake-request.js'

t.test('preferredLocale: the highest q, the first of equals, canonical, never a malformed tag', async (t) => {
  const cases: Array<[string | undefined, string | undefined]> = [
    [undefined, undefined],
    ['', undefined],
    ['de-DE,de;q=0.9,en;q=0.8', 'de-DE'],
    ['en;q=0.5, fr', 'fr'],
    ['fr;q=0.7, en-gb;q=0.7', 'fr'],
    ['pt-br', 'pt-BR'],
    ['ZH-hant-tw', 'zh-Hant-TW'],
    ['*', undefined],
    ['*, es;q=0.1', 'es'],
    ['en;q=0', undefined],
    ['en;q=2, it;q=0.3', 'en'],
    ['<script>alert(1)</script>, nl;q=0.2', 'nl'],
    ['x', undefined],
    [' sv ; q = 0.4 ', 'sv'],
    ['a'.repeat(10_000), undefined]
  ]
  for (const [header, locale] of cases) t.equal(preferredLocale(header), locale, JSON.stringify(header)?.slice(0, 40))
})

t.test('escapeHtml escapes the five characters that matter', async (t) => {
  t.equal(escapeHtml('<a href="x" title=\'y\'>&</a>'), '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;')
})

t.test('default texts: minutes rounded and at least 1, singular for one; appName optional', async (t) => {
  const render = (appName?: string) => messageRenderers(senderFail('test'), appName === undefined ? {} : { appName })
  const sms = (expiresIn: number, appName?: string) => render(appName).sms(sendArgs('sms', '+15550000000', {}, '4711000', expiresIn))
  t.equal(sms(600), 'Your code is 4711000. It expires in 10 minutes.')
  t.equal(sms(600, 'Acme'), 'Your Acme code is 4711000. It expires in 10 minutes.')
  t.equal(sms(60), 'Your code is 4711000. It expires in 1 minute.')
  t.equal(sms(30), 'Your code is 4711000. It expires in 1 minute.')
  t.equal(sms(150), 'Your code is 4711000. It expires in 3 minutes.')
  t.equal(render().email(sendArgs('email', 'ana@example.com')).subject, 'Your login code')
})

t.test('a template function gets the whole context', async (t) => {
  const seen: MessageContext[] = []
  const render = messageRenderers(senderFail('test'), {
    appName: 'Acme',
    templates: { sms: (context: MessageContext) => { seen.push(context); return `${context.code}` } }
  })
  t.equal(render.sms(sendArgs('sms', '+15550000000', { 'accept-language': 'hi' }, '123456', 300)), '123456')
  t.same(seen, [{ code: '123456', expiresIn: 300, minutes: 5, appName: 'Acme', locale: 'hi' }])
})

t.test('an e-mail template function must give a subject and the code in the text and HTML', async (t) => {
  const renderWith = (email: unknown) => messageRenderers(senderFail('test'), { templates: { email: email as EmailTemplate } })
  const args = sendArgs('email', 'ana@example.com')
  t.throws(() => renderWith(() => ({ text: '123456' })).email(args), /returned no subject/)
  t.throws(() => renderWith(() => ({ subject: 's', text: 'no code' })).email(args), /email text template returned a text without the code/)
  t.throws(() => renderWith(() => ({ subject: 's', text: '123456', html: '<p>no code</p>' })).email(args), /email html template returned a text without the code/)
  t.throws(() => renderWith(() => undefined).email(args), /returned no subject/)
  t.throws(() => renderWith('Your code is {code}'), /option "templates.email" must be \{ subject, text, html\? \} or a function/)
  t.same(renderWith(() => ({ subject: 's', text: 'c 123456' })).email(args), { subject: 's', text: 'c 123456' })
})

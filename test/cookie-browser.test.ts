import { existsSync } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import { chromium, type Browser, type Page } from 'playwright-core'
import t, { type Test } from 'tap'
import otpLogin, { type OtpLoginOptions } from '../lib/index.js'
import { JWT_SECRET } from './helpers/app.js'

// Cookie tossing in a real browser (issue 20, point 4): a page on a sibling subdomain plants cookies of the
// plugin's names with `Domain=<parent>`. Hosts under `site.localhost` let Chromium treat every page as a secure
// context (it takes Secure and __Host- cookies from http://*.localhost) while the hosts stay siblings: the app on
// a.site.localhost, the attacker's page on evil.site.localhost, all served on 127.0.0.1.
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const inCI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'
const missing = existsSync(chromiumPath) ? undefined : `${chromiumPath} is missing: install Debian's chromium or set CHROMIUM_PATH`

const victim = '+919876543210'
const attacker = '+919876543299'

interface Answer { status: number, body: { code?: string, access?: string } }

/** The phone number an access token was issued to. */
const phoneOf = (access: string | undefined): unknown =>
  JSON.parse(Buffer.from(access?.split('.')[1] ?? '', 'base64url').toString() || '{}').phone

async function startApp (t: Test, cookie: OtpLoginOptions['cookie']): Promise<{ app: FastifyInstance, port: number, codes: Map<string, string> }> {
  const codes = new Map<string, string>()
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(otpLogin, { jwt: { secret: JWT_SECRET }, rateLimit: false, prefix: '/api/auth', send: ({ to, code }) => { codes.set(to, code) }, cookie })
  app.get('/', async (_request, reply) => await reply.type('text/html').send('<p>app</p>'))
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, port: Number(new URL(address).port), codes }
}

interface Stolen { name: string, value: string, path: string }

/** The attacker's own refresh and device cookies (names, values, paths as the app sets them), from a sign-in. */
async function attackerCookies (app: FastifyInstance, codes: Map<string, string>): Promise<{ refresh: Stolen, device: Stolen }> {
  await app.inject({ method: 'POST', url: '/api/auth/login', payload: { phone: attacker } })
  const res = await app.inject({ method: 'POST', url: '/api/auth/verify-otp', payload: { phone: attacker, otp: codes.get(attacker) ?? '' } })
  const cookie = (device: boolean): Stolen => {
    const found = res.cookies.find((c) => c.name.endsWith('_device') === device)
    return { name: found?.name ?? '', value: found?.value ?? '', path: found?.path ?? '' }
  }
  return { refresh: cookie(false), device: cookie(true) }
}

/** A Set-Cookie of the attacker's page for the parent domain, with the name and path the app uses. */
const forParent = ({ name, value, path }: Stolen): string => `${name}=${value}; Domain=site.localhost; Path=${path}; Secure; HttpOnly; SameSite=Strict`

const post = async (page: Page, path: string, body?: object): Promise<Answer> => await page.evaluate(async ([path, body]) => {
  const res = await fetch(path, { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })
  return { status: res.status, body: await res.json() as Answer['body'] }
}, [path, body] as const)

if (missing !== undefined && inCI) {
  t.fail(`${missing}. CI must run the browser tests.`)
} else {
  t.test('a sibling subdomain cannot plant the __Host- cookies; it could plant the names of 0.1', { skip: missing ?? false }, async (t) => {
    // The attacker's page: whatever cookies the test gives it, for the parent domain.
    let planted: string[] = []
    const evil = Fastify()
    t.teardown(() => evil.close())
    evil.get('/', async (_request, reply) => await reply.header('set-cookie', planted).type('text/html').send('<p>evil</p>'))
    const evilPort = Number(new URL(await evil.listen({ host: '127.0.0.1', port: 0 })).port)

    const browser: Browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] })
    t.teardown(() => browser.close())
    const visitEvil = async (page: Page, cookies: string[]): Promise<void> => {
      planted = cookies
      await page.goto(`http://evil.site.localhost:${evilPort}/`)
    }

    t.test('default: __Host- cookies', async (t) => {
      const { app, port, codes } = await startApp(t, {})
      const stolen = await attackerCookies(app, codes)
      t.same([stolen.refresh.name, stolen.device.name], ['__Host-otp_refresh', '__Host-otp_device'])
      const context = await browser.newContext()
      t.teardown(() => context.close())
      const page = await context.newPage()

      // 1. A signed-out browser: the planted refresh cookie would sign the page in to the attacker's account.
      await visitEvil(page, [forParent(stolen.refresh), forParent(stolen.device)])
      t.same((await context.cookies()).map((c) => c.name), [], 'Chromium refused both (a __Host- cookie with Domain)')
      await page.goto(`http://a.site.localhost:${port}/`)
      const refresh = await post(page, '/api/auth/refresh')
      t.match(refresh, { status: 401, body: { code: 'OTP_REFRESH_INVALID' } }, 'the page is not signed in as the attacker')

      // 2. The user signs in; the attacker's page tries again: the user's session stays the user's.
      await post(page, '/api/auth/login', { phone: victim })
      const signedIn = await post(page, '/api/auth/verify-otp', { phone: victim, otp: codes.get(victim) })
      t.equal(phoneOf(signedIn.body.access), victim, 'the user signed in on the page')
      await visitEvil(page, [
        forParent(stolen.refresh),
        `${stolen.refresh.name}=${stolen.refresh.value}; Path=/; Secure` // host-only: evil.site.localhost's own, never sent to a.
      ])
      await page.goto(`http://a.site.localhost:${port}/`)
      const again = await post(page, '/api/auth/refresh')
      t.equal(again.status, 200, 'no second cookie of the name reached the app')
      t.equal(phoneOf(again.body.access), victim, "still the user's session")
    })

    t.test('control: where __Host- cannot be (a path of its own), the old names can be planted', async (t) => {
      // The fallback the docs warn about: this is why the default changed. If the browser refused these too,
      // the test above would prove nothing.
      const { app, port, codes } = await startApp(t, { path: '/api/auth' })
      const stolen = await attackerCookies(app, codes)
      const context = await browser.newContext()
      t.teardown(() => context.close())
      const page = await context.newPage()
      await visitEvil(page, [forParent(stolen.refresh)])
      t.same((await context.cookies()).map((c) => [c.name, c.domain]), [['otp_refresh', '.site.localhost']], 'Chromium took it')
      await page.goto(`http://a.site.localhost:${port}/`)
      const refresh = await post(page, '/api/auth/refresh')
      t.equal(refresh.status, 200)
      t.equal(phoneOf(refresh.body.access), attacker, "the planted cookie signs the page in to the attacker's account")
    })
  })
}

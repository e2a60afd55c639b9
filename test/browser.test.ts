import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import t, { type Test } from 'tap'
import type { SendArgs } from '../lib/index.js'
import { wrongCode } from './helpers/app.js'
import { STEP_MS, codeAt } from './helpers/totp.js'

// The example page in headless Chromium, used as a person would: type a number, read the code, type it, and go
// on from there (sessions, an authenticator, the second factor, logging out). The app runs in cookie mode.
// Debian's chromium, driven by playwright-core, which never downloads a browser of its own.
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const inCI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'
const artifacts = join(__dirname, 'artifacts')

const missing = existsSync(chromiumPath)
  ? undefined
  : `${chromiumPath} is missing, so the browser test cannot run: install Debian's chromium (sudo apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary`

interface OpenPage {
  page: Page
  context: BrowserContext
  /** Asserts that the page threw no uncaught error, broke no CSP rule and asked for nothing outside the app. */
  checkQuiet: (t: Test) => void
}

async function openPage (t: Test, browser: Browser, origin: string): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: { width: 800, height: 700 } })
  t.teardown(() => context.close())
  // Only the app's own origin is reachable: a request elsewhere would fail the test instead of leaving the machine.
  const elsewhere: string[] = []
  await context.route((url) => url.origin !== origin, async (route) => {
    elsewhere.push(route.request().url())
    await route.abort()
  })
  const page = await context.newPage()
  page.setDefaultTimeout(5000)
  const pageErrors: string[] = []
  page.on('pageerror', (err) => { pageErrors.push(err.message) })
  page.on('console', (message) => { if (/Content Security Policy/i.test(message.text())) pageErrors.push(message.text()) })
  await page.goto(`${origin}/`)
  await page.locator('#signed-out').waitFor({ state: 'visible' }) // no session yet: the page's /refresh got 401
  const checkQuiet = (t: Test): void => {
    t.same(pageErrors, [], 'no uncaught errors or CSP violations in the page')
    t.same(elsewhere, [], 'no requests outside the app')
  }
  return { page, context, checkQuiet }
}

/** Types the identifier, sends it and waits until the page asks for the code. */
async function requestCode (page: Page, identifier: string): Promise<void> {
  await page.locator('#identifier').fill(identifier)
  await page.locator('#identifier-form button').click()
  await page.locator('#code-form').waitFor({ state: 'visible' })
}

async function enterCode (page: Page, code: string): Promise<void> {
  await page.locator('#otp').fill(code)
  await page.locator('#code-form button').click()
}

/** Waits for the signed-in view with /me's answer in it, and returns that answer. */
async function signedInView (page: Page): Promise<{ user: Record<string, unknown> }> {
  await page.locator('#signed-in').waitFor({ state: 'visible' })
  await page.locator('#me').filter({ hasText: '"user"' }).waitFor()
  await page.locator('#sessions li').first().waitFor()
  return JSON.parse(await page.locator('#me').innerText())
}

async function screenshot (t: Test, page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true })
  const path = join(artifacts, name)
  await page.screenshot({ path, fullPage: true })
  t.comment(`screenshot: ${path}`)
}

if (missing !== undefined && inCI) {
  t.fail(`${missing}. CI must run the browser test; .ci/run installs chromium when it is missing.`)
} else {
  t.test('the example page in Chromium', { skip: missing ?? false }, async (t) => {
    const codes = new Map<string, string>()
    const examplePath = '../example-app/app.mjs' // a plain .mjs file: no types to resolve
    const { buildExampleApp } = await import(examplePath) as {
      buildExampleApp: (o: { send: (a: SendArgs) => void, logger: boolean }) => Promise<FastifyInstance>
    }
    const appReady = buildExampleApp({ send: ({ to, code }) => { codes.set(to, code) }, logger: false })
    const browserReady = chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
    // Both close, whichever of them failed to start.
    t.teardown(() => Promise.allSettled([appReady.then((app) => app.close()), browserReady.then((browser) => browser.close())]))
    const [app, browser] = await Promise.all([appReady, browserReady])
    const origin = await app.listen({ host: '127.0.0.1', port: 0 })

    const codeFor = (to: string): string => {
      const code = codes.get(to)
      if (code === undefined) throw new Error(`no code was sent to ${to}`)
      return code
    }
    // Another device of the same user, through the API (no Origin header, as a native app): its access token.
    const signInElsewhere = async (phone: string, recoveryCode?: string): Promise<string> => {
      await app.inject({ method: 'POST', url: '/api/auth/login', payload: { phone } })
      const first = (await app.inject({ method: 'POST', url: '/api/auth/verify-otp', payload: { phone, otp: codeFor(phone) } })).json()
      if (recoveryCode === undefined) return first.access
      return (await app.inject({ method: 'POST', url: '/api/auth/verify-recovery', payload: { mfaToken: first.mfaToken, code: recoveryCode } })).json().access
    }
    const meStatus = async (access: string): Promise<number> =>
      (await app.inject({ url: '/me', headers: { authorization: `Bearer ${access}` } })).statusCode

    t.test('sign in, the refresh cookie, a reload, sessions, an authenticator as second factor, log out', async (t) => {
      const { page, context, checkQuiet } = await openPage(t, browser, origin)
      // The bearer token the page sends last: what a thief of the page's memory would hold.
      let lastBearer = ''
      page.on('request', (request) => {
        const authorization = request.headers().authorization
        if (authorization !== undefined) lastBearer = authorization.replace(/^Bearer /, '')
      })
      const refreshCookie = async (): Promise<Awaited<ReturnType<BrowserContext['cookies']>>[number] | undefined> =>
        (await context.cookies()).find((cookie) => cookie.name === '__Host-otp_refresh')

      // 1. Sign in by SMS code.
      const phone = '+919876543210'
      await requestCode(page, phone)
      t.equal(await page.locator('#identifier-msg').innerText(), 'Code sent; it expires in 600 seconds.', 'the message is next to the identifier')
      await enterCode(page, codeFor(phone))
      let me = await signedInView(page)
      t.match(me, { user: { sub: phone, phone, amr: ['sms'] } }, '/me answers with the phone the code was sent to')
      t.equal(await page.locator('#signed-out').isVisible(), false, 'the sign-in forms are gone')
      t.equal(await page.locator('#who').innerText(), phone)

      // 2. The refresh token: in an HttpOnly, Secure, SameSite=Strict __Host- cookie (host-only, at /), which
      // Chromium keeps on http://127.0.0.1, and which no page script can read. Nothing is kept in web storage.
      const cookie = await refreshCookie()
      t.match(cookie, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/', domain: '127.0.0.1' }, 'the refresh cookie, as Chromium stores it')
      t.match((await context.cookies()).find((c) => c.name === '__Host-otp_device'), { httpOnly: true, secure: true, sameSite: 'Strict', path: '/' }, 'the device cookie too')
      t.notMatch(await page.evaluate<string>('document.cookie'), /otp_/, 'document.cookie does not show them')
      t.same(await page.evaluate<number[]>('[sessionStorage.length, localStorage.length]'), [0, 0], 'no web storage used')
      await screenshot(t, page, 'browser-login.png')

      // 3. Another device signs in; a reload keeps this tab's session through POST /refresh and the cookie.
      const otherAccess = await signInElsewhere(phone)
      const refreshed = page.waitForResponse(`${origin}/api/auth/refresh`)
      await page.reload()
      t.equal((await refreshed).status(), 200, 'the reload refreshed')
      me = await signedInView(page)
      t.match(me, { user: { sub: phone, amr: ['sms'] } }, 'still signed in after the reload')
      t.not((await refreshCookie())?.value, cookie?.value, 'the refresh cookie was rotated')

      // 4. The sessions: this one marked, the other one ended from here.
      const sessions = page.locator('#sessions li')
      t.equal(await sessions.count(), 2, 'both sessions are listed')
      t.equal(await page.locator('#sessions li.current').count(), 1, 'one is marked as this one')
      t.match(await page.locator('#sessions li.current').innerText(), /\(this session\)/)
      await screenshot(t, page, 'browser-sessions.png')
      t.equal(await meStatus(otherAccess), 200, 'the other session works')
      await page.locator('#sessions li:not(.current) button', { hasText: 'End' }).click()
      await page.locator('#sessions-msg').filter({ hasText: 'Session ended' }).waitFor()
      await page.waitForFunction('document.querySelectorAll("#sessions li").length === 1')
      t.equal(await page.locator('#sessions li.current').count(), 1, 'only this session is left')
      t.equal(await meStatus(otherAccess), 401, 'the ended session\'s access token is refused')

      // 5. An authenticator: the QR code and key, a code from the app, the recovery codes once.
      await page.locator('#totp-setup').click()
      await page.locator('#totp-setup-section').waitFor({ state: 'visible' })
      t.match(await page.locator('#qr').getAttribute('src'), /^data:image\//, 'a QR code, as a data: URL')
      const secret = await page.locator('#totp-secret').innerText()
      const confirmStep = Math.floor(Date.now() / STEP_MS)
      await page.locator('#totp-confirm-otp').fill(codeAt(secret, confirmStep))
      await page.locator('#totp-confirm-form button').click()
      await page.locator('#recovery-section').waitFor({ state: 'visible' })
      const recoveryCodes = await page.locator('#recovery-codes li').allInnerTexts()
      t.equal(recoveryCodes.length, 10, 'ten recovery codes are shown')
      t.match(await page.locator('#totp-msg').innerText(), /^Authenticator on/)
      await screenshot(t, page, 'browser-authenticator.png')

      // 6. Log out, then sign in again: the SMS code, then the authenticator's code.
      await page.locator('#logout').click()
      await page.locator('#signed-out').waitFor({ state: 'visible' })
      t.equal(await page.locator('#identifier-msg').innerText(), 'Logged out.')
      await requestCode(page, phone)
      await enterCode(page, codeFor(phone))
      await page.locator('#mfa-step').waitFor({ state: 'visible' })
      t.equal(await page.locator('#code-form').isVisible(), false, 'the SMS code step is done')
      t.equal(await page.locator('#signed-in').isVisible(), false, 'not signed in yet')
      await screenshot(t, page, 'browser-second-factor.png')
      // The step of the confirmation is spent: a code of the next one (within the allowed drift).
      const step = Math.max(Math.floor(Date.now() / STEP_MS), confirmStep + 1)
      await page.locator('#totp-otp').fill(codeAt(secret, step))
      await page.locator('#totp-form').getByRole('button', { name: 'Continue' }).click()
      me = await signedInView(page)
      t.match(me, { user: { sub: phone, amr: ['sms', 'totp'] } }, 'signed in with both factors')
      t.match(await page.locator('#me').innerText(), /"amr": \[\s*"sms",\s*"totp"\s*\]/, 'the page shows amr ["sms","totp"]')
      await screenshot(t, page, 'browser-signed-in-2fa.png')

      // 7. A sign-in older than freshAuthAge cannot change the authenticator: the page says so next to it.
      // (The server's 403 is faked here, to skip waiting five minutes; the plugin's own tests cover the check.)
      await page.route(`${origin}/api/auth/totp/setup`, async (route) => {
        await route.fulfill({
          status: 403,
          contentType: 'application/json',
          body: JSON.stringify({ statusCode: 403, code: 'OTP_FRESH_AUTH_REQUIRED', error: 'Forbidden', message: 'This needs a recent sign-in; sign in again' })
        })
      })
      await page.locator('#totp-setup').click()
      await page.locator('#totp-msg.error').waitFor()
      t.match(await page.locator('#totp-msg').innerText(), /sign in again/i, 'the message is next to the control')
      t.equal(await page.locator('#sign-in-again').isVisible(), true, 'with a button to sign in again')
      await page.unroute(`${origin}/api/auth/totp/setup`)

      // 8. "Log out" ends the session: the access token it held is refused, the refresh cookie is gone, and the
      // last refresh token it held is refused too.
      const access = lastBearer
      t.equal(await meStatus(access), 200, 'the page\'s access token works before logging out')
      const lastRefresh = (await refreshCookie())?.value ?? ''
      t.not(lastRefresh, '', 'there is a refresh cookie before logging out')
      await page.locator('#logout').click()
      await page.locator('#signed-out').waitFor({ state: 'visible' })
      t.equal(await page.locator('#signed-in').isVisible(), false, 'the signed-in view is gone')
      t.equal(await meStatus(access), 401, 'the old access token gets 401 at /me')
      t.equal(await refreshCookie(), undefined, 'the refresh cookie is gone')
      const replay = await app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { '__Host-otp_refresh': lastRefresh } })
      t.equal(replay.statusCode, 401, 'the old refresh token is refused')
      // And a reload does not bring the session back.
      await page.reload()
      await page.locator('#signed-out').waitFor({ state: 'visible' })

      // 9. A recovery code as the second factor, then "Log out everywhere" ends another device's session too.
      await requestCode(page, phone)
      await enterCode(page, codeFor(phone))
      await page.locator('#mfa-step').waitFor({ state: 'visible' })
      await page.locator('#use-recovery').click()
      await page.locator('#recovery-code').fill(recoveryCodes[0] ?? '')
      await page.locator('#recovery-form').getByRole('button', { name: 'Continue' }).click()
      me = await signedInView(page)
      t.match(me, { user: { amr: ['sms', 'recovery'] } }, 'signed in with a recovery code')
      const elsewhere = await signInElsewhere(phone, recoveryCodes[1])
      t.equal(await meStatus(elsewhere), 200)
      const pageAccess = lastBearer
      await page.locator('#logout-all').click()
      await page.locator('#signed-out').waitFor({ state: 'visible' })
      t.equal(await page.locator('#identifier-msg').innerText(), 'Logged out everywhere.')
      t.equal(await meStatus(elsewhere), 401, 'the other device is logged out')
      t.equal(await meStatus(pageAccess), 401, 'and this one')
      checkQuiet(t)
    })

    t.test('a wrong code: the page shows OTP_INVALID next to the code, and no token', async (t) => {
      const { page, context, checkQuiet } = await openPage(t, browser, origin)
      const phone = '+919876543211'
      await requestCode(page, phone)

      await enterCode(page, wrongCode(codeFor(phone)))
      await page.locator('#code-msg.error').waitFor({ state: 'visible' })
      t.equal(await page.locator('#code-msg').innerText(), 'OTP_INVALID: The code is wrong, expired or already used')
      t.equal(await page.locator('#code-form').isVisible(), true, 'the code form stays for another try')
      t.equal(await page.locator('#signed-in').isVisible(), false, 'not signed in')
      t.same((await context.cookies()).map((c) => c.name), [], 'no cookie set')
      await screenshot(t, page, 'browser-wrong-code.png')
      checkQuiet(t)
    })
  })
}

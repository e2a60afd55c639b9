import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import type { SendArgs } from '../lib/index.js'
import { wrongCode } from './helpers/app.js'
import { fakeStaleSignIn, inCI, launchChromium, missingChromium } from './helpers/browser.js'
import { STEP_MS, codeAt } from './helpers/totp.js'

// The example page in headless Chromium, used as a person would: type a number, read the code, type it, and go
// on from there (sessions, an authenticator, the second factor, logging out). The app runs in cookie mode.
const artifacts = join(__dirname, 'artifacts')

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
  await page.locator('#code-form:visible, #identifier-msg.error').first().waitFor()
  if (!await page.locator('#code-form').isVisible()) throw new Error(`no code sent: ${await page.locator('#identifier-msg').innerText()}`)
}

async function enterCode (page: Page, code: string): Promise<void> {
  await page.locator('#otp').fill(code)
  await page.locator('#code-form button').click()
}

/**
 * Waits for the signed-in view of this sign-in: /me's answer with these `amr`, the sessions and the
 * authenticator's state, and returns /me's answer. Waiting on the amr, not on any claims, never takes an
 * earlier sign-in's text for this one's.
 */
async function signedInView (page: Page, amr: string[]): Promise<{ user: Record<string, unknown> }> {
  await page.locator('#signed-in').waitFor({ state: 'visible' })
  await page.locator('#me').filter({ hasText: new RegExp(`"amr": \\[\\s*${amr.map((m) => `"${m}"`).join(',\\s*')}\\s*\\]`) }).waitFor()
  await page.locator('#sessions li').first().waitFor()
  await page.locator('#authenticator-state[data-enabled]').waitFor()
  return JSON.parse(await page.locator('#me').innerText())
}

/** Waits until the authenticator's state reads `enabled`, and returns its text. */
async function authenticatorState (page: Page, enabled: boolean): Promise<string> {
  const state = page.locator(`#authenticator-state[data-enabled="${String(enabled)}"]`)
  await state.waitFor()
  return await state.innerText()
}

/** Asserts that nothing of a sign-in is left in the page's DOM, shown or hidden. */
async function nothingLeft (t: Test, page: Page): Promise<void> {
  t.equal(await page.locator('#signed-in').isVisible(), false, 'the signed-in view is gone')
  t.equal(await page.locator('#me').textContent(), '', 'the claims are gone')
  t.equal(await page.locator('#who').textContent(), '', 'and the identifier')
  t.equal(await page.locator('#sessions li').count(), 0, 'the sessions list is empty')
  t.equal(await page.locator('#authenticator-state').textContent(), '', 'the authenticator\'s state is gone')
  t.equal(await page.locator('#recovery-codes li').count(), 0, 'no recovery codes are left')
  t.equal(await page.locator('#totp-secret').textContent(), '', 'nor an authenticator key')
  t.equal(await page.evaluate<boolean>('access === null'), true, 'no access token in memory')
}

async function screenshot (t: Test, page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true })
  const path = join(artifacts, name)
  await page.screenshot({ path, fullPage: true })
  t.comment(`screenshot: ${path}`)
}

if (missingChromium !== undefined && inCI) {
  t.fail(`${missingChromium}. CI must run the browser test; .ci/run installs chromium when it is missing.`)
} else {
  t.test('the example page in Chromium', { skip: missingChromium ?? false }, async (t) => {
    const codes = new Map<string, string>()
    const examplePath = '../example-app/app.mjs' // a plain .mjs file: no types to resolve
    const { buildExampleApp } = await import(examplePath) as {
      buildExampleApp: (o: { send: (a: SendArgs) => void, logger: boolean }) => Promise<FastifyInstance>
    }
    const appReady = buildExampleApp({ send: ({ to, code }) => { codes.set(to, code) }, logger: false })
    const browserReady = launchChromium()
    // Both close, whichever of them failed to start.
    t.teardown(() => Promise.allSettled([appReady.then((app) => app.close()), browserReady.then((browser) => browser.close())]))
    const [app, browser] = await Promise.all([appReady, browserReady])
    const origin = await app.listen({ host: '127.0.0.1', port: 0 })

    const codeFor = (to: string): string => {
      const code = codes.get(to)
      if (code === undefined) throw new Error(`no code was sent to ${to}`)
      return code
    }
    // Another device of the same user, through the API (no Origin header, as a native app), from an address of
    // its own (so its requests do not count toward the page's rate limits): its access token.
    const remoteAddress = '192.0.2.7'
    const signInElsewhere = async (phone: string, recoveryCode?: string): Promise<string> => {
      await app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress, payload: { phone } })
      const first = (await app.inject({ method: 'POST', url: '/api/auth/verify-otp', remoteAddress, payload: { phone, otp: codeFor(phone) } })).json()
      if (recoveryCode === undefined) return first.access
      return (await app.inject({ method: 'POST', url: '/api/auth/verify-recovery', remoteAddress, payload: { mfaToken: first.mfaToken, code: recoveryCode } })).json().access
    }
    const logOutEverywhereElsewhere = async (access: string): Promise<number> =>
      (await app.inject({ method: 'POST', url: '/api/auth/logout', remoteAddress, headers: { authorization: `Bearer ${access}` }, payload: { scope: 'all' } })).statusCode
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
      let me = await signedInView(page, ['sms'])
      t.match(me, { user: { sub: phone, phone, amr: ['sms'] } }, '/me answers with the phone the code was sent to')
      t.equal(await authenticatorState(page, false), 'Authenticator app: off.', 'no authenticator yet')
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
      me = await signedInView(page, ['sms'])
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
      t.equal(await authenticatorState(page, true), 'Authenticator app: on.', 'the state says on')
      await screenshot(t, page, 'browser-authenticator.png')

      // 6. Log out: nothing of this sign-in is left on the page. Then sign in again: the SMS code, then the
      // authenticator's code.
      await page.locator('#logout').click()
      await page.locator('#signed-out').waitFor({ state: 'visible' })
      t.equal(await page.locator('#identifier-msg').innerText(), 'You logged out.')
      await nothingLeft(t, page)
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
      me = await signedInView(page, ['sms', 'otp', 'mfa'])
      t.match(me, { user: { sub: phone } }, 'signed in with both factors')
      t.same(me.user.amr, ['sms', 'otp', 'mfa'], 'amr: an SMS code, an authenticator code, two factors')
      t.equal(await authenticatorState(page, true), 'Authenticator app: on.')
      t.match(await page.locator('#me').innerText(), /"amr": \[\s*"sms",\s*"otp",\s*"mfa"\s*\]/, 'the page shows amr ["sms","otp","mfa"]')
      await screenshot(t, page, 'browser-signed-in-2fa.png')
      // New recovery codes, fresh from this sign-in: ten others, shown once; the old ones stop working.
      await page.locator('#totp-recovery').click()
      await page.locator('#totp-msg').filter({ hasText: 'New recovery codes' }).waitFor()
      const renewed = await page.locator('#recovery-codes li').allInnerTexts()
      t.equal(renewed.length, 10, 'ten new recovery codes are shown')
      t.notOk(renewed.some((code) => recoveryCodes.includes(code)), 'none of them an old one')

      // 7. A sign-in older than freshAuthAge cannot change the authenticator: the page says so next to it.
      await fakeStaleSignIn(page, `${origin}/api/auth/totp/setup`)
      await page.locator('#totp-setup').click()
      await page.locator('#totp-msg.error').waitFor()
      t.equal(await page.locator('#totp-msg').innerText(), 'This needs a recent sign-in: sign in again, then try once more.', 'a sentence next to the control')
      t.equal(await page.locator('#totp-msg').getAttribute('data-code'), 'OTP_FRESH_AUTH_REQUIRED', 'the code kept aside, for support')
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
      await nothingLeft(t, page)
      t.equal(await meStatus(access), 401, 'the old access token gets 401 at /me')
      t.equal(await refreshCookie(), undefined, 'the refresh cookie is gone')
      const replay = await app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { '__Host-otp_refresh': lastRefresh } })
      t.equal(replay.statusCode, 401, 'the old refresh token is refused')
      // And a reload does not bring the session back.
      await page.reload()
      await page.locator('#signed-out').waitFor({ state: 'visible' })

      // 9. A recovery code as the second factor; the authenticator turned off; then "Log out everywhere" ends
      // another device's session too.
      await requestCode(page, phone)
      await enterCode(page, codeFor(phone))
      await page.locator('#mfa-step').waitFor({ state: 'visible' })
      await page.locator('#use-recovery').click()
      await page.locator('#recovery-code').fill(renewed[0] ?? '')
      await page.locator('#recovery-form').getByRole('button', { name: 'Continue' }).click()
      me = await signedInView(page, ['sms', 'recovery', 'mfa'])
      t.same(me.user.amr, ['sms', 'recovery', 'mfa'], 'signed in with a recovery code')
      const elsewhere = await signInElsewhere(phone, renewed[1])
      t.equal(await meStatus(elsewhere), 200)
      t.equal(await authenticatorState(page, true), 'Authenticator app: on.')
      await page.locator('#totp-disable').click()
      t.equal(await authenticatorState(page, false), 'Authenticator app: off.', 'the state says off once it is turned off')
      t.equal(await page.locator('#totp-msg').innerText(), 'Authenticator off.')
      const pageAccess = lastBearer
      await page.locator('#logout-all').click()
      await page.locator('#signed-out').waitFor({ state: 'visible' })
      t.equal(await page.locator('#identifier-msg').innerText(), 'You logged out on every device.')
      await nothingLeft(t, page)
      t.equal(await meStatus(elsewhere), 401, 'the other device is logged out')
      t.equal(await meStatus(pageAccess), 401, 'and this one')
      checkQuiet(t)
    })

    t.test('a session ended on another device, and one that expired: the page says which, and keeps nothing of it', async (t) => {
      const { page, checkQuiet } = await openPage(t, browser, origin)
      const phone = '+919876543212'
      const signIn = async (): Promise<void> => {
        await requestCode(page, phone)
        await enterCode(page, codeFor(phone))
        await signedInView(page, ['sms'])
      }

      // On a fake clock, so the page's renewal a minute before its access token expires can be brought forward.
      await page.clock.install()
      // Another device logs out everywhere; the page finds out when it renews its token: the refresh is refused,
      // and its access token, still in time, too.
      await signIn()
      t.equal(await logOutEverywhereElsewhere(await signInElsewhere(phone)), 204, 'the other device ended every session')
      const renewal = page.waitForResponse(`${origin}/api/auth/refresh`)
      await page.clock.fastForward('14:01')
      t.equal((await renewal).status(), 401, 'the renewal is refused')
      await page.locator('#signed-out').waitFor({ state: 'visible' })
      t.equal(await page.locator('#identifier-msg').innerText(), 'This session was ended on another device. Sign in again.')
      await nothingLeft(t, page)

      // Another device logs out everywhere; the page finds out at its next call.
      await signIn()
      t.equal(await logOutEverywhereElsewhere(await signInElsewhere(phone)), 204, 'the other device ended every session')
      await page.locator('#sessions-reload').click()
      await page.locator('#signed-out').waitFor({ state: 'visible' })
      t.equal(await page.locator('#identifier-msg').innerText(), 'This session was ended on another device. Sign in again.')
      await nothingLeft(t, page)

      // The access token ran out, then the refresh was refused: as it is once refreshTokenTtl has passed, or a
      // spent token came back. Both answers are faked, to skip waiting 15 minutes and 30 days; the session
      // itself lives on, so a reload signs the page in again for the second case.
      await signIn()
      for (const [code, why] of [
        ['OTP_REFRESH_INVALID', 'Your session expired. Sign in again.'],
        ['OTP_REFRESH_REUSED', 'This session was ended on another device. Sign in again.']
      ]) {
        if (code === 'OTP_REFRESH_REUSED') {
          await page.reload()
          await signedInView(page, ['sms'])
        }
        await page.route(`${origin}/api/auth/sessions`, async (route) => {
          await route.fulfill({
            status: 401,
            contentType: 'application/json',
            body: JSON.stringify({ statusCode: 401, code: 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED', error: 'Unauthorized', message: 'Authorization token expired' })
          })
        })
        await page.route(`${origin}/api/auth/refresh`, async (route) => {
          await route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ statusCode: 401, code, error: 'Unauthorized', message: 'refused' }) })
        })
        await page.locator('#sessions-reload').click()
        await page.locator('#signed-out').waitFor({ state: 'visible' })
        t.equal(await page.locator('#identifier-msg').innerText(), why, `${code}: the page says why`)
        await nothingLeft(t, page)
        await page.unroute(`${origin}/api/auth/sessions`)
        await page.unroute(`${origin}/api/auth/refresh`)
      }
      checkQuiet(t)
    })

    t.test('a wrong code: the page says so in a sentence next to the code, and gives no token', async (t) => {
      const { page, context, checkQuiet } = await openPage(t, browser, origin)
      const phone = '+919876543211'
      await requestCode(page, phone)

      await enterCode(page, wrongCode(codeFor(phone)))
      await page.locator('#code-msg.error').waitFor({ state: 'visible' })
      t.equal(await page.locator('#code-msg').innerText(), 'That code is wrong, expired or already used. Check it and try again.')
      t.equal(await page.locator('#code-msg').getAttribute('data-code'), 'OTP_INVALID', 'the code only in data-code, for support')
      t.equal(await page.locator('#code-form').isVisible(), true, 'the code form stays for another try')
      t.equal(await page.locator('#signed-in').isVisible(), false, 'not signed in')
      t.same((await context.cookies()).map((c) => c.name), [], 'no cookie set')
      await screenshot(t, page, 'browser-wrong-code.png')
      checkQuiet(t)
    })
  })
}

import type { FastifyInstance } from 'fastify'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import type { SendArgs } from '../lib/index.js'
import { fakeStaleSignIn, inCI, launchChromium, missingChromium } from './helpers/browser.js'
import { freePort } from './helpers/redis.js'

// Passkeys on the example page in headless Chromium, with the DevTools virtual authenticator standing in for the
// device's platform authenticator (a resident key, user verification always passes, presence simulated): add a
// passkey after a code sign-in, sign in with it, rename and remove it, and a removed passkey no longer signs in.
// WebAuthn needs a domain name, so the page is opened at http://localhost:<port>, the origin the app allows.

interface VirtualCredential { credentialId: string, isResidentCredential: boolean, rpId?: string, userHandle?: string, signCount: number }

interface OpenPage {
  page: Page
  /** The credentials the virtual authenticator holds. */
  credentials: () => Promise<VirtualCredential[]>
  /** The statuses of the page's POST /passkeys/login/options and POST /passkeys/login, in order. */
  calls: { options: number[], login: number[] }
  /** Asserts that the page threw no uncaught error, broke no CSP rule and asked for nothing outside the app. */
  checkQuiet: (t: Test) => void
}

/**
 * The example page in a context of its own with a virtual authenticator. With `autofill: false` the browser
 * says it has no passkey autofill (conditional mediation), as a browser without it does: only the button is left.
 */
async function openPage (t: Test, browser: Browser, origin: string, { autofill = true } = {}): Promise<OpenPage> {
  const context: BrowserContext = await browser.newContext({ viewport: { width: 800, height: 900 } })
  t.teardown(() => context.close())
  const elsewhere: string[] = []
  await context.route((url) => url.origin !== origin, async (route) => {
    elsewhere.push(route.request().url())
    await route.abort()
  })
  if (!autofill) await context.addInitScript('PublicKeyCredential.isConditionalMediationAvailable = async () => false')
  const page = await context.newPage()
  page.setDefaultTimeout(5000)
  const pageErrors: string[] = []
  page.on('pageerror', (err) => { pageErrors.push(err.message) })
  page.on('console', (message) => { if (/Content Security Policy/i.test(message.text())) pageErrors.push(message.text()) })
  const calls: OpenPage['calls'] = { options: [], login: [] }
  page.on('response', (response) => {
    const path = new URL(response.url()).pathname
    if (path === '/api/auth/passkeys/login/options') calls.options.push(response.status())
    if (path === '/api/auth/passkeys/login') calls.login.push(response.status())
  })
  // The authenticator is there before the page asks for one: the page's passkey autofill starts at load.
  // automaticPresenceSimulation answers every request at once: an autofill request too, as a person choosing the
  // passkey the autofill offers; with no passkey for the site, the request fails at once (a real browser waits).
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true
    }
  })
  await page.goto(`${origin}/`)
  await page.locator('#signed-out').waitFor({ state: 'visible' })
  const credentials = async (): Promise<VirtualCredential[]> =>
    (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as VirtualCredential[]
  const checkQuiet = (t: Test): void => {
    t.same(pageErrors, [], 'no uncaught errors or CSP violations in the page')
    t.same(elsewhere, [], 'no requests outside the app')
  }
  return { page, credentials, calls, checkQuiet }
}

/** Signs in with a code (read from what the app sent), as the browser test does; waits for the signed-in view. */
async function signInWithCode (page: Page, codes: Map<string, string>, phone: string): Promise<void> {
  await page.locator('#identifier').fill(phone)
  await page.locator('#identifier-form button').click()
  await page.locator('#code-form').waitFor({ state: 'visible' })
  await page.locator('#otp').fill(codes.get(phone) ?? 'no code sent')
  await page.locator('#code-form button').click()
  await signedInView(page, 'sms')
}

/** Adds a passkey through the page and waits until the list shows it; returns its id as the page lists it. */
async function addPasskey (page: Page): Promise<string | null> {
  await page.locator('#passkey-add').click()
  await page.locator('#passkeys li').first().waitFor()
  return await page.locator('#passkeys li').first().getAttribute('data-id')
}

/** Waits for the signed-in view of a sign-in whose amr includes `method`, and returns /me's answer. */
async function signedInView (page: Page, method: string): Promise<{ user: Record<string, unknown> }> {
  await page.locator('#signed-in').waitFor({ state: 'visible' })
  await page.locator('#me').filter({ hasText: new RegExp(`"amr": \\[[^\\]]*"${method}"`) }).waitFor()
  await page.locator('#passkeys li, #passkeys-empty:visible').first().waitFor()
  return JSON.parse(await page.locator('#me').innerText())
}

/** A standard base64 credential id (as DevTools gives it) in base64url (as WebAuthn JSON and the plugin give it). */
const base64url = (base64: string): string => Buffer.from(base64, 'base64').toString('base64url')

const invalidSentence = 'That passkey did not sign you in: it is not known here, was removed, or took too long. Try again, or sign in with a code.'

if (missingChromium !== undefined && inCI) {
  t.fail(`${missingChromium}. CI must run the browser tests.`)
} else {
  t.test('passkeys on the example page in Chromium', { skip: missingChromium ?? false }, async (t) => {
    const codes = new Map<string, string>()
    // The port first: the app allows passkeys from http://localhost:<port>, so it must know it before listening.
    const port = await freePort()
    const examplePath = '../example-app/app.mjs' // a plain .mjs file: no types to resolve
    const { buildExampleApp } = await import(examplePath) as {
      buildExampleApp: (o: { send: (a: SendArgs) => void, logger: boolean, port: number }) => Promise<FastifyInstance>
    }
    const appReady = buildExampleApp({ send: ({ to, code }) => { codes.set(to, code) }, logger: false, port })
    const browserReady = launchChromium()
    t.teardown(() => Promise.allSettled([appReady.then((app) => app.close()), browserReady.then((browser) => browser.close())]))
    const [app, browser] = await Promise.all([appReady, browserReady])
    await app.listen({ host: '127.0.0.1', port })
    const origin = `http://localhost:${port}`

    t.test('add a passkey, sign in with it by autofill, rename it, remove it: then it no longer signs in', async (t) => {
      const { page, credentials, calls, checkQuiet } = await openPage(t, browser, origin)
      t.equal(await page.locator('#ip-notice').isVisible(), false, 'no notice at localhost')
      t.equal(await page.locator('#passkey-sign-in').isEnabled(), true, 'the passkey button works here')
      t.equal(await page.locator('#identifier').getAttribute('autocomplete'), 'username webauthn', 'the field offers passkeys in autofill')

      // 1. Sign in with a code. The autofill asked for options at load; the authenticator had nothing to offer.
      const phone = '+919876543210'
      await signInWithCode(page, codes, phone)
      t.same(calls, { options: [200], login: [] }, 'the autofill took a challenge, and sent nothing')
      t.equal(await page.locator('#passkeys-empty').isVisible(), true, 'no passkeys yet')
      t.same(await credentials(), [], 'the authenticator holds nothing yet')

      // 2. Add a passkey: the authenticator makes a resident credential for localhost, the page lists it.
      const id = await addPasskey(page)
      t.match(await page.locator('#passkeys-msg').innerText(), /^Passkey added as /)
      const held = await credentials()
      t.equal(held.length, 1, 'the authenticator holds one credential')
      t.match(held[0], { isResidentCredential: true, rpId: 'localhost' }, 'a discoverable credential for localhost')
      t.equal(id, base64url(held[0]?.credentialId ?? ''), 'the listed passkey is the authenticator\'s credential')
      t.match(await page.locator('#passkeys li').first().innerText(), /not used yet/)

      // 3. Rename it.
      await page.locator('#passkeys li .passkey-name').fill('Test laptop')
      await page.locator('#passkeys li .passkey-rename').click()
      await page.locator('#passkeys li strong', { hasText: 'Test laptop' }).waitFor()
      t.equal(await page.locator('#passkeys-msg').innerText(), 'Passkey renamed to Test laptop.')

      // 4. Log out: the autofill offers the passkey, the authenticator takes it, and the page is signed in.
      const sentBefore = codes.size
      await page.locator('#logout').click()
      const me = await signedInView(page, 'mfa')
      t.equal(me.user.sub, phone, 'signed in as the user who added the passkey')
      t.match(me.user, { amr: ['hwk', 'mfa'] }, 'amr: a passkey with user verification')
      t.equal(codes.size, sentBefore, 'no code was sent')
      t.same(calls.login, [200], 'through POST /passkeys/login')
      t.match(await page.locator('#passkeys li').first().innerText(), /last used/, 'the passkey shows its use')
      t.ok(((await credentials())[0]?.signCount ?? 0) > 0, 'the authenticator signed an assertion')

      // 5. Remove it (the passkey sign-in is fresh): the list is empty, the authenticator still holds the key.
      await page.locator('#passkeys li .passkey-remove').click()
      await page.locator('#passkeys-empty').waitFor({ state: 'visible' })
      t.equal(await page.locator('#passkeys-msg').innerText(), 'Passkey Test laptop removed: it no longer signs you in.')
      t.equal((await credentials()).length, 1, 'the device keeps its key; the app forgot it')

      // 6. The removed passkey no longer signs in, by autofill or by the button: 401 OTP_PASSKEY_INVALID, shown
      // as its sentence, the code kept in data-code.
      await page.locator('#logout').click()
      await page.locator('#passkey-sign-in-msg.error').waitFor()
      t.same(calls.login, [200, 401], 'the autofill tried, and was refused')
      t.equal(await page.locator('#passkey-sign-in-msg').innerText(), invalidSentence)
      t.equal(await page.locator('#passkey-sign-in-msg').getAttribute('data-code'), 'OTP_PASSKEY_INVALID')
      const refused = page.waitForResponse(`${origin}/api/auth/passkeys/login`)
      await page.locator('#passkey-sign-in').click()
      const answer = await refused
      t.equal(answer.status(), 401)
      t.equal((await answer.json()).code, 'OTP_PASSKEY_INVALID')
      await page.locator('#passkey-sign-in-msg.error').waitFor()
      t.equal(await page.locator('#passkey-sign-in-msg').innerText(), invalidSentence)
      t.equal(await page.locator('#signed-in').isVisible(), false, 'still signed out')
      checkQuiet(t)
    })

    t.test('without passkey autofill, the button signs in', async (t) => {
      const { page, calls, checkQuiet } = await openPage(t, browser, origin, { autofill: false })
      const phone = '+919876543211'
      await signInWithCode(page, codes, phone)
      await addPasskey(page)
      await page.locator('#logout').click()
      await page.locator('#signed-out').waitFor({ state: 'visible' })
      t.same(calls, { options: [], login: [] }, 'no autofill: nothing asked for until the button')
      await page.locator('#passkey-sign-in').click()
      const me = await signedInView(page, 'mfa')
      t.equal(me.user.sub, phone)
      t.same(calls, { options: [200], login: [200] }, 'one challenge, one sign-in')

      // A sign-in older than freshAuthAge cannot add a passkey: the sentence, and a button to sign in again.
      await fakeStaleSignIn(page, `${origin}/api/auth/passkeys/register/options`)
      await page.locator('#passkey-add').click()
      await page.locator('#passkeys-msg.error').waitFor()
      t.equal(await page.locator('#passkeys-msg').innerText(), 'This needs a recent sign-in: sign in again, then try once more.')
      await page.locator('#passkey-sign-in-again').click()
      await page.locator('#signed-out').waitFor({ state: 'visible' })
      t.equal(await page.locator('#identifier').inputValue(), phone, 'the identifier is filled in')
      t.equal(await page.locator('#identifier-msg').innerText(), 'Sign in again to change your passkeys.')
      checkQuiet(t)
    })

    t.test('at 127.0.0.1 the page says to open localhost, and offers no passkeys', async (t) => {
      const { page, calls, checkQuiet } = await openPage(t, browser, `http://127.0.0.1:${port}`)
      await page.locator('#ip-notice').waitFor({ state: 'visible' })
      t.equal(await page.locator('#localhost-link').getAttribute('href'), `${origin}/`)
      t.match(await page.locator('#ip-notice').innerText(), `open ${origin}/`)
      t.equal(await page.locator('#passkey-sign-in').isDisabled(), true, 'the passkey button is off')
      t.same(calls, { options: [], login: [] }, 'and no autofill asks for anything')
      checkQuiet(t)
    })
  })
}

import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type Page } from 'playwright-core'
import t, { type Test } from 'tap'
import type { SendArgs } from '../lib/index.js'
import { wrongCode } from './helpers/app.js'

// The example page in headless Chromium, used as a person would: type a number, read the code, type it, see /me.
// Debian's chromium, driven by playwright-core, which never downloads a browser of its own.
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const inCI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'
const artifacts = join(__dirname, 'artifacts')

const missing = existsSync(chromiumPath)
  ? undefined
  : `${chromiumPath} is missing, so the browser test cannot run: install Debian's chromium (sudo apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary`

interface OpenPage {
  page: Page
  /** Asserts that the page threw no uncaught error and asked for nothing outside the app. */
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
  await page.goto(`${origin}/`)
  const checkQuiet = (t: Test): void => {
    t.same(pageErrors, [], 'no uncaught errors in the page')
    t.same(elsewhere, [], 'no requests outside the app')
  }
  return { page, checkQuiet }
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

    t.test('a number, its code, and the page shows GET /me', async (t) => {
      const { page, checkQuiet } = await openPage(t, browser, origin)
      const phone = '+919876543210'
      await requestCode(page, phone)
      t.match(await page.locator('#status').innerText(), /^Code sent; it expires in 600 seconds\.$/)

      await enterCode(page, codeFor(phone))
      await page.locator('#me').waitFor({ state: 'visible' })
      t.equal(await page.locator('#status').innerText(), 'Logged in.')
      t.equal(await page.locator('#code-form').isVisible(), false, 'the code form is gone')
      const me = JSON.parse(await page.locator('#me').innerText())
      t.match(me, { user: { sub: phone, phone } }, '/me answers with the phone the code was sent to')
      await screenshot(t, page, 'browser-login.png')
      checkQuiet(t)
    })

    t.test('a wrong code: the page shows OTP_INVALID and no token', async (t) => {
      const { page, checkQuiet } = await openPage(t, browser, origin)
      const phone = '+919876543211'
      await requestCode(page, phone)

      await enterCode(page, wrongCode(codeFor(phone)))
      await page.locator('#status.error').waitFor({ state: 'visible' })
      t.equal(await page.locator('#status').innerText(), 'OTP_INVALID: The code is wrong, expired or already used')
      t.equal(await page.locator('#code-form').isVisible(), true, 'the code form stays for another try')
      t.equal(await page.locator('#me').isVisible(), false, 'no /me output')
      t.equal(await page.evaluate('sessionStorage.getItem("access")'), null, 'no token kept')
      await screenshot(t, page, 'browser-wrong-code.png')
      checkQuiet(t)
    })
  })
}

import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'

// Debian's chromium, driven by playwright-core, which never downloads a browser of its own.
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Whether this is CI, where a missing browser fails the browser tests instead of skipping them. */
export const inCI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'

/** Why the browser tests cannot run here, or undefined when Chromium is installed. */
export const missingChromium = existsSync(chromiumPath)
  ? undefined
  : `${chromiumPath} is missing, so the browser tests cannot run: install Debian's chromium (sudo apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary`

/** Headless Chromium that talks to nothing but the pages it is sent to. */
export async function launchChromium (): Promise<Browser> {
  return await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
}

/**
 * Answers the page's next requests to `url` as the plugin answers a sign-in older than `freshAuthAge`: faked, to
 * skip waiting five minutes (the plugin's own tests cover the check). `page.unroute(url)` ends it.
 */
export async function fakeStaleSignIn (page: Page, url: string): Promise<void> {
  await page.route(url, async (route) => {
    await route.fulfill({
      status: 403,
      contentType: 'application/json',
      body: JSON.stringify({ statusCode: 403, code: 'OTP_FRESH_AUTH_REQUIRED', error: 'Forbidden', message: 'This needs a recent sign-in; sign in again' })
    })
  })
}

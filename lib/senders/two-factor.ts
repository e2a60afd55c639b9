import { Type, type Static } from '@sinclair/typebox'
import { DEFAULT_TIMEOUT, callProvider, checkChannel, excerpt, senderOption, senderOptions, SendError, withoutSlash, type SendArgs } from './delivery.js'

const twoFactorOptions = Type.Object({
  apiKey: senderOption.text(),
  /**
   * The name of an SMS template registered with 2Factor (in India, the DLT-approved text). 2Factor writes the
   * message, so this sender has no `templates` option; without a name, 2Factor's default OTP template is used.
   */
  templateName: Type.Optional(senderOption.text()),
  /** Default `'https://2factor.in'`; tests point it at a local fake. */
  baseUrl: Type.Optional(senderOption.url()),
  /** Milliseconds to wait for 2Factor's answer; default 5000. */
  timeout: senderOption.timeout()
}, { additionalProperties: false })

export type TwoFactorSenderOptions = Static<typeof twoFactorOptions>

const provider = '2Factor'
const checkOptions = senderOptions('twoFactorSender', twoFactorOptions)

/**
 * Sends codes by SMS through 2Factor.in's OTP API: `GET /API/V1/{apiKey}/SMS/{number}/{code}[/{templateName}]`,
 * the number as digits with the country code and no `+`. A 200 answer counts only with `"Status": "Success"`.
 */
export function twoFactorSender (opts: TwoFactorSenderOptions): (args: SendArgs) => Promise<void> {
  const { apiKey, templateName, baseUrl = 'https://2factor.in', timeout = DEFAULT_TIMEOUT } = checkOptions(opts)
  const base = `${withoutSlash(baseUrl)}/API/V1/${encodeURIComponent(apiKey)}/SMS`

  return async function sendWithTwoFactor ({ channel, to, code }) {
    checkChannel('twoFactorSender', channel, 'sms')
    const path = [to.replace(/^\+/, ''), code, ...(templateName === undefined ? [] : [templateName])]
    const url = `${base}/${path.map(encodeURIComponent).join('/')}`
    // The URL holds the API key and the code: neither may reach the log through an echo.
    const secrets = [apiKey, code]
    const answer = await callProvider(provider, url, { method: 'GET', headers: { accept: 'application/json' } }, { timeout, secrets })
    if (statusOf(answer.body) !== 'Success') {
      throw new SendError(provider, `answered HTTP ${answer.status} without "Status": "Success": ${excerpt(answer.body, secrets)}`, { status: answer.status })
    }
  }
}

function statusOf (body: string): unknown {
  try {
    return (JSON.parse(body) as { Status?: unknown } | null)?.Status
  } catch {
    return undefined
  }
}

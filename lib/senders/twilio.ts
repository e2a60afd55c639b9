import { Type, type Static } from '@sinclair/typebox'
import { DEFAULT_TIMEOUT, callProvider, checkChannel, senderFail, senderOption, senderOptions, withoutSlash, type Fail, type SendArgs } from './delivery.js'
import { messageRenderers, templatesOption } from './template.js'

const twilioOptions = Type.Object({
  /** `AC…`: the account the message is sent from, and the user name of HTTP Basic auth. */
  accountSid: senderOption.text(),
  authToken: senderOption.text(),
  /** A Twilio number in E.164 or an alphanumeric sender ID; exactly one of `from` and `messagingServiceSid`. */
  from: Type.Optional(senderOption.text()),
  /** `MG…`: let a Messaging Service pick the sender. */
  messagingServiceSid: Type.Optional(senderOption.text()),
  /** Default `'https://api.twilio.com'`; tests point it at a local fake. */
  baseUrl: Type.Optional(senderOption.url()),
  /** Milliseconds to wait for Twilio's answer; default 5000. */
  timeout: senderOption.timeout(),
  /** Used by the default text: "Your <appName> code is …". */
  appName: senderOption.appName(),
  templates: templatesOption(['sms'])
}, { additionalProperties: false })

export type TwilioSenderOptions = Static<typeof twilioOptions>

const provider = 'Twilio'
const checkOptions = senderOptions('twilioSender', twilioOptions)
const fail: Fail = senderFail('twilioSender')

/** Sends codes by SMS through Twilio's Messages API (one POST, no SDK, no retry). */
export function twilioSender (opts: TwilioSenderOptions): (args: SendArgs) => Promise<void> {
  const { accountSid, authToken, from, messagingServiceSid, baseUrl = 'https://api.twilio.com', timeout = DEFAULT_TIMEOUT, ...texts } = checkOptions(opts)
  if ((from === undefined) === (messagingServiceSid === undefined)) {
    fail('from', 'or "messagingServiceSid" is required, and only one of them')
  }
  const url = `${withoutSlash(baseUrl)}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`
  const render = messageRenderers(fail, texts)
  const authorization = 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64')

  return async function sendWithTwilio (args) {
    checkChannel('twilioSender', args.channel, 'sms')
    const form = new URLSearchParams({ To: args.to, Body: render.sms(args) })
    if (from !== undefined) form.set('From', from)
    if (messagingServiceSid !== undefined) form.set('MessagingServiceSid', messagingServiceSid)
    await callProvider(provider, url, {
      method: 'POST',
      headers: { authorization, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString()
    }, { timeout, secrets: [args.code] })
  }
}

import type { SendArgs } from '../options.js'
import { callProvider, checkChannel, SenderOptions } from './delivery.js'
import { messageRenderers, type SmsTemplate } from './template.js'

export interface TwilioSenderOptions {
  /** `AC…`: the account the message is sent from, and the user name of HTTP Basic auth. */
  accountSid: string
  authToken: string
  /** A Twilio number in E.164 or an alphanumeric sender ID; exactly one of `from` and `messagingServiceSid`. */
  from?: string
  /** `MG…`: let a Messaging Service pick the sender. */
  messagingServiceSid?: string
  /** Default `'https://api.twilio.com'`; tests point it at a local fake. */
  baseUrl?: string
  /** Milliseconds to wait for Twilio's answer; default 5000. */
  timeout?: number
  /** Used by the default text: "Your <appName> code is …". */
  appName?: string
  templates?: { sms?: SmsTemplate }
}

const provider = 'Twilio'

/** Sends codes by SMS through Twilio's Messages API (one POST, no SDK, no retry). */
export function twilioSender (opts: TwilioSenderOptions): (args: SendArgs) => Promise<void> {
  const options: SenderOptions = new SenderOptions('twilioSender', opts, [
    'accountSid', 'authToken', 'from', 'messagingServiceSid', 'baseUrl', 'timeout', 'appName', 'templates'
  ])
  const accountSid = options.string('accountSid')
  const authToken = options.string('authToken')
  const from = options.optionalString('from')
  const messagingServiceSid = options.optionalString('messagingServiceSid')
  if ((from === undefined) === (messagingServiceSid === undefined)) {
    options.fail('from', 'or "messagingServiceSid" is required, and only one of them')
  }
  const url = `${options.url('baseUrl', 'https://api.twilio.com')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`
  const timeout = options.timeout()
  const render = messageRenderers(options, ['sms'])
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

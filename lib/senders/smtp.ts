import type { ConnectionOptions } from 'node:tls'
import type * as Nodemailer from 'nodemailer'
import { Type, type Static } from '@sinclair/typebox'
import {
  DEFAULT_TIMEOUT, checkChannel, excerpt, senderFail, senderOption, senderOptions, SendError, withTimeout, type SendArgs
} from './delivery.js'
import { messageRenderers, templatesOption } from './template.js'

const smtpOptions = Type.Object({
  host: senderOption.text(),
  /** Default 465 with `secure`, otherwise 587. */
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, rule: 'must be a port number' })),
  /** TLS from the first byte (port 465); default false: the connection is upgraded with STARTTLS. */
  secure: senderOption.flag(),
  /**
   * Refuse to send unless the connection is encrypted (STARTTLS is required when not `secure`). Default true;
   * set false only for a relay on the same host or network that has no TLS.
   */
  requireTLS: senderOption.flag(),
  auth: Type.Optional(Type.Object({ user: Type.String({ minLength: 1 }), pass: Type.String() }, { rule: 'must be { user, pass } with strings' })),
  /** The sender: `'no-reply@example.com'` or `'"Example" <no-reply@example.com>'`. */
  from: senderOption.text(),
  /** Node TLS options, such as `servername` or a private CA. */
  tls: Type.Optional(Type.Unsafe<ConnectionOptions>({ type: 'object', rule: 'must be an object of Node TLS options' })),
  /** Milliseconds for the whole send (connect, greeting, authentication, message); default 5000. */
  timeout: senderOption.timeout(),
  /** Used by the default e-mail: "Your <appName> code is …". */
  appName: senderOption.appName(),
  templates: templatesOption(['email'])
}, { additionalProperties: false })

export type SmtpSenderOptions = Static<typeof smtpOptions>

const provider = 'SMTP'
const checkOptions = senderOptions('smtpSender', smtpOptions)

/**
 * Sends codes by e-mail over SMTP with nodemailer, a text and an HTML body. nodemailer is an optional peer
 * dependency, loaded when this factory is first called.
 */
export function smtpSender (opts: SmtpSenderOptions): (args: SendArgs) => Promise<void> {
  const { host, secure = false, requireTLS = true, auth, from, tls, timeout = DEFAULT_TIMEOUT, ...rest } = checkOptions(opts)
  const port = rest.port ?? (secure ? 465 : 587)
  const render = messageRenderers(senderFail('smtpSender'), rest)
  const socketTimeout = timeout + 1000

  const transporter = loadNodemailer().createTransport({
    host,
    port,
    secure,
    requireTLS: !secure && requireTLS,
    ...(auth === undefined ? {} : { auth: { user: auth.user, pass: auth.pass } }),
    ...(tls === undefined ? {} : { tls }),
    // withTimeout bounds the whole send and decides the failure; these only let nodemailer drop the socket
    // of a send that was given up (a little later, so the timeout reads the same whichever step hung).
    connectionTimeout: socketTimeout,
    greetingTimeout: socketTimeout,
    socketTimeout,
    dnsTimeout: socketTimeout
  })

  return async function sendWithSmtp (args) {
    checkChannel('smtpSender', args.channel, 'email')
    const { subject, text, html } = render.email(args)
    try {
      await withTimeout(provider, timeout, async () => {
        await transporter.sendMail({ from, to: args.to, subject, text, ...(html === undefined ? {} : { html }) })
      })
    } catch (err) {
      if (err instanceof SendError) throw err
      throw smtpError(err, args.code)
    }
  }
}

// nodemailer's errors carry a code (EAUTH, ECONNECTION, EENVELOPE, …) and the server's reply line.
function smtpError (err: unknown, code: string): SendError {
  const { code: reason, responseCode, response, message } = (err ?? {}) as {
    code?: unknown, responseCode?: unknown, response?: unknown, message?: unknown
  }
  const status = typeof responseCode === 'number' ? responseCode : undefined
  const label = [reason, status].filter((part) => part !== undefined).join(' ')
  const said = typeof response === 'string' ? response : typeof message === 'string' ? message : String(err)
  // A reply code is the server saying no; a connection that never opened sent nothing; anything else
  // (a timeout, a socket lost mid-message) may have delivered.
  // (nodemailer says ECONNECTION both for a connection that never opened and one lost after the message went.)
  const refused = status !== undefined || reason === 'EDNS' || /ECONNREFUSED|ENOTFOUND/.test(String(message))
  return new SendError(provider, `failed${label === '' ? '' : ` (${label})`}: ${excerpt(said, [code])}`, {
    ...(status === undefined ? {} : { status }),
    cause: err,
    outcome: refused ? 'refused' : 'unknown'
  })
}

let nodemailer: typeof Nodemailer | undefined

// Loaded on first use, so apps that never send e-mail need not install nodemailer.
function loadNodemailer (): typeof Nodemailer {
  if (nodemailer === undefined) {
    try {
      nodemailer = require('nodemailer') as typeof Nodemailer
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw err
      throw new Error('fastify-otp-login: smtpSender needs the nodemailer package; install it with `npm install nodemailer`', { cause: err })
    }
  }
  return nodemailer
}

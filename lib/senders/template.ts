import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { Fail, SendArgs } from './delivery.js'

/** What a message template is given. */
export interface MessageContext {
  code: string
  /** Seconds the code stays valid. */
  expiresIn: number
  /** `expiresIn` in whole minutes, rounded, at least 1. */
  minutes: number
  /** The sender's `appName` option. */
  appName: string | undefined
  /** The client's preferred language from `Accept-Language`, canonical (`'de-DE'`), or undefined. */
  locale: string | undefined
}

export interface EmailMessage {
  subject: string
  text: string
  /** Omitted: a text-only e-mail. */
  html?: string
}

/** A string with `{code}`, `{minutes}`, `{expiresIn}` and `{appName}` placeholders, or a function. */
export type SmsTemplate = string | ((context: MessageContext) => string)
/** Strings as for SMS (values are HTML-escaped in `html`), or a function returning the whole message. */
export type EmailTemplate = EmailMessage | ((context: MessageContext) => EmailMessage)

export interface MessageTemplates {
  sms?: SmsTemplate
  email?: EmailTemplate
}

function messageContext ({ code, expiresIn, request }: SendArgs, appName: string | undefined): MessageContext {
  return { code, expiresIn, minutes: Math.max(1, Math.round(expiresIn / 60)), appName, locale: requestLocale(request) }
}

export function requestLocale (request: FastifyRequest | undefined): string | undefined {
  const header = request?.headers?.['accept-language']
  return preferredLocale(typeof header === 'string' ? header : undefined)
}

/**
 * The language the client prefers most: the tag with the highest `q` (the first of equals), canonicalised by
 * `Intl`. A malformed tag or `*` is skipped, so the result only ever holds letters, digits and dashes.
 */
export function preferredLocale (header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  let best: string | undefined
  let bestQuality = 0
  for (const entry of header.split(',').slice(0, 20)) {
    const [tag = '', ...params] = entry.split(';').map((part) => part.trim())
    const quality = params.reduce((q, param) => {
      const match = /^q\s*=\s*([01](?:\.\d{0,3})?)$/i.exec(param)
      return match ? Number(match[1]) : q
    }, 1)
    if (quality <= bestQuality || !/^[a-z]{2,8}(?:-[a-z0-9]{1,8})*$/i.test(tag)) continue
    try {
      best = Intl.getCanonicalLocales(tag)[0]
      bestQuality = quality
    } catch {}
  }
  return best
}

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

const placeholderPattern = /\{(\w+)\}/g
const placeholders = ['code', 'minutes', 'expiresIn', 'appName'] as const
type Placeholder = typeof placeholders[number]

function minutesPhrase (minutes: number): string {
  return `${minutes} minute${minutes === 1 ? '' : 's'}`
}

const defaultSms = ({ code, minutes, appName }: MessageContext): string =>
  `Your ${appName === undefined ? '' : appName + ' '}code is ${code}. It expires in ${minutesPhrase(minutes)}.`

const ignoreLine = 'If you did not ask for this code, you can ignore this e-mail.'
const defaultEmail = (context: MessageContext): EmailMessage => {
  const app = context.appName === undefined ? '' : context.appName + ' '
  return {
    subject: `Your ${app}login code`,
    text: `${defaultSms(context)}\n\n${ignoreLine}\n`,
    html: [
      '<!doctype html>',
      '<html><body>',
      `<p>Your ${escapeHtml(app)}code is <strong>${context.code}</strong>. It expires in ${minutesPhrase(context.minutes)}.</p>`,
      `<p>${ignoreLine}</p>`,
      '</body></html>',
      ''
    ].join('\n')
  }
}

/** Turns a template string into a function, refusing unknown placeholders and a missing `{code}` at startup. */
function compile (fail: Fail, name: string, template: unknown, appName: string | undefined, { needsCode, html }: { needsCode: boolean, html: boolean }): (context: MessageContext) => string {
  if (typeof template !== 'string' || template === '') fail(name, 'must be a non-empty string')
  const used = new Set<string>()
  for (const [, placeholder = ''] of template.matchAll(placeholderPattern)) {
    if (!(placeholders as readonly string[]).includes(placeholder)) {
      fail(name, `has an unknown placeholder {${placeholder}}; known: ${placeholders.map((p) => `{${p}}`).join(', ')}`)
    }
    used.add(placeholder)
  }
  if (needsCode && !used.has('code')) fail(name, 'must contain {code}')
  if (used.has('appName') && appName === undefined) fail(name, 'uses {appName}, so the option "appName" is required')
  return (context) => template.replace(placeholderPattern, (_, placeholder: Placeholder) => {
    const value = String(context[placeholder])
    return html ? escapeHtml(value) : value
  })
}

function checkHasCode (where: string, text: unknown, code: string): string {
  if (typeof text !== 'string' || !text.includes(code)) {
    throw new Error(`fastify-otp-login: the ${where} template returned ${typeof text === 'string' ? 'a text without the code' : typeof text}`)
  }
  return text
}

function smsRenderer (fail: Fail, template: unknown, appName: string | undefined): (context: MessageContext) => string {
  if (template === undefined) return defaultSms
  if (typeof template === 'function') {
    const render = template as (context: MessageContext) => unknown
    return (context) => checkHasCode('sms', render(context), context.code)
  }
  return compile(fail, 'templates.sms', template, appName, { needsCode: true, html: false })
}

function emailRenderer (fail: Fail, template: unknown, appName: string | undefined): (context: MessageContext) => EmailMessage {
  if (template === undefined) return defaultEmail
  if (typeof template === 'function') {
    const render = template as (context: MessageContext) => Partial<EmailMessage> | null | undefined
    return (context) => {
      const message = render(context)
      const subject = message?.subject
      if (typeof subject !== 'string' || subject === '') throw new Error('fastify-otp-login: the email template returned no subject')
      return {
        subject,
        text: checkHasCode('email text', message?.text, context.code),
        ...(message?.html === undefined ? {} : { html: checkHasCode('email html', message.html, context.code) })
      }
    }
  }
  if (template === null || typeof template !== 'object') {
    fail('templates.email', 'must be { subject, text, html? } or a function returning one')
  }
  const { subject, text, html, ...rest } = template as Record<string, unknown>
  for (const key of Object.keys(rest)) fail(`templates.email.${key}`, 'is not a part of an e-mail (subject, text, html)')
  const renderSubject = compile(fail, 'templates.email.subject', subject, appName, { needsCode: false, html: false })
  const renderText = compile(fail, 'templates.email.text', text, appName, { needsCode: true, html: false })
  const renderHtml = html === undefined ? undefined : compile(fail, 'templates.email.html', html, appName, { needsCode: true, html: true })
  return (context) => ({
    subject: renderSubject(context),
    text: renderText(context),
    ...(renderHtml === undefined ? {} : { html: renderHtml(context) })
  })
}

export interface MessageRenderers {
  sms: (args: SendArgs) => string
  email: (args: SendArgs) => EmailMessage
}

/**
 * The `templates` option of a sender that delivers `channels`: an object with a template for each, checked by
 * the sender's schema; the templates themselves are read by `messageRenderers`.
 */
export function templatesOption<C extends keyof MessageTemplates> (channels: readonly C[]) {
  const own = Object.fromEntries(channels.map((channel) => [channel, Type.Optional(Type.Unsafe<MessageTemplates[C]>({}))]))
  return Type.Optional(Type.Unsafe<Pick<MessageTemplates, C>>(Type.Object(own, {
    additionalProperties: false,
    rule: `must be an object { ${channels.join(', ')} }`,
    unknown: `has no channel "{key}" for this sender (it has ${channels.join(', ')})`
  })))
}

/**
 * Reads the options `appName` and `templates` (already checked as values) once, at startup, and gives the
 * functions that write the message for one code; a template that cannot work is refused through `fail`.
 */
export function messageRenderers (fail: Fail, { appName, templates = {} }: { appName?: string | undefined, templates?: MessageTemplates | undefined }): MessageRenderers {
  const renderSms = smsRenderer(fail, templates.sms, appName)
  const renderEmail = emailRenderer(fail, templates.email, appName)
  return {
    sms: (args) => renderSms(messageContext(args, appName)),
    email: (args) => renderEmail(messageContext(args, appName))
  }
}

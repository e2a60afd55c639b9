import { Type, type Static } from '@sinclair/typebox'
import { senderOptions, type SendFn } from './delivery.js'

const consoleOptions = Type.Object({
  /** Where the line goes; default: standard output, so codes show even when the app's logger is off. */
  write: Type.Optional(Type.Unsafe<(line: string) => void>({ check: 'function', rule: 'must be a function (line) => void' }))
}, { additionalProperties: false })

export type ConsoleSenderOptions = Static<typeof consoleOptions>

const checkOptions = senderOptions('consoleSender', consoleOptions)

/**
 * For development only: prints each code instead of delivering it. The one place where a code is ever
 * written out, which is why it warns when it is created and refuses to be created when NODE_ENV=production.
 */
export function consoleSender (opts: ConsoleSenderOptions = {}): SendFn {
  if (process.env.NODE_ENV === 'production') {
    throw new Error('fastify-otp-login: consoleSender prints codes and is for development only; it refuses to run with NODE_ENV=production')
  }
  const { write = (line) => { process.stdout.write(line + '\n') } } = checkOptions(opts)
  process.emitWarning('consoleSender prints one-time codes to the console: use it for development only', {
    code: 'FASTIFY_OTP_LOGIN_CONSOLE_SENDER'
  })
  return ({ channel, to, code, expiresIn }) => {
    write(`[fastify-otp-login] development ${channel} code for ${to}: ${code} (valid ${expiresIn}s; consoleSender is for development only)`)
  }
}

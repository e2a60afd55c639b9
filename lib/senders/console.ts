import type { SendFn } from '../options.js'

export interface ConsoleSenderOptions {
  /** Where the line goes; default: standard output, so codes show even when the app's logger is off. */
  write?: (line: string) => void
}

/**
 * For development only: prints each code instead of delivering it. The one place where a code is ever
 * written out, which is why it warns when it is created and refuses to be created when NODE_ENV=production.
 */
export function consoleSender ({ write = (line) => { process.stdout.write(line + '\n') } }: ConsoleSenderOptions = {}): SendFn {
  if (process.env.NODE_ENV === 'production') {
    throw new Error('fastify-otp-login: consoleSender prints codes and is for development only; it refuses to run with NODE_ENV=production')
  }
  process.emitWarning('consoleSender prints one-time codes to the console: use it for development only', {
    code: 'FASTIFY_OTP_LOGIN_CONSOLE_SENDER'
  })
  return ({ channel, to, code, expiresIn }) => {
    write(`[fastify-otp-login] development ${channel} code for ${to}: ${code} (valid ${expiresIn}s; consoleSender is for development only)`)
  }
}

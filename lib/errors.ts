import createError from '@fastify/error'

/** An error the plugin answers with; `retryAfter` (seconds) becomes a `Retry-After` header and body field. */
export interface OtpError extends Error {
  code: string
  statusCode: number
  retryAfter?: number
}

export const InvalidPhoneError = createError('OTP_INVALID_PHONE', 'Not a valid phone number, or its country is not allowed', 400)
export const InvalidEmailError = createError('OTP_INVALID_EMAIL', 'Not a valid e-mail address', 400)
export const SendBudgetExceededError = createError('OTP_SEND_BUDGET_EXCEEDED', 'Too many codes are being sent to this region right now; try again later', 429)
export const ResendTooSoonError = createError('OTP_RESEND_TOO_SOON', 'A code was sent moments ago; wait before asking for another', 429)
export const LockedError = createError('OTP_LOCKED', 'Too many codes or wrong guesses for this identifier; try again later', 429)
export const AttemptsExceededError = createError('OTP_ATTEMPTS_EXCEEDED', 'This code took too many wrong guesses; ask for a new code', 429)
export const InvalidCodeError = createError('OTP_INVALID', 'The code is wrong, expired or already used', 401)
export const DeliveryFailedError = createError('OTP_DELIVERY_FAILED', 'The code could not be delivered; try again', 502)
export const RefreshInvalidError = createError('OTP_REFRESH_INVALID', 'The refresh token is unknown, expired or revoked', 401)
export const RefreshReusedError = createError('OTP_REFRESH_REUSED', 'The refresh token was already used; its session is revoked', 401)
export const RateLimitedError = createError('OTP_RATE_LIMITED', 'Too many requests from this address; retry in %s', 429)
export const TotpAlreadyEnabledError = createError('OTP_TOTP_ALREADY_ENABLED', 'An authenticator is already set up; turn it off first', 409)
export const TotpNotPendingError = createError('OTP_TOTP_NOT_PENDING', 'No authenticator setup is waiting to be confirmed; start a new setup', 409)
export const TotpNoIdentifierError = createError('OTP_TOTP_NO_IDENTIFIER', 'This token carries no phone number or e-mail address to bind an authenticator to', 403)
export const InternalError = createError('OTP_INTERNAL_ERROR', 'Something went wrong; try again', 500)
export const StoreUnavailableError = createError('OTP_STORE_UNAVAILABLE', 'Login is unavailable right now; try again shortly', 503)

/** Attaches a whole number of seconds to wait (at least 1) to an error the plugin answers with. */
export function withRetryAfter<E extends Error> (error: E, retryAfterMs: number): E & { retryAfter: number } {
  return Object.assign(error, { retryAfter: Math.max(1, Math.ceil(retryAfterMs / 1000)) })
}

const otpCodes = new Set([
  'OTP_INVALID_PHONE', 'OTP_INVALID_EMAIL', 'OTP_SEND_BUDGET_EXCEEDED', 'OTP_RESEND_TOO_SOON', 'OTP_LOCKED', 'OTP_ATTEMPTS_EXCEEDED',
  'OTP_INVALID', 'OTP_DELIVERY_FAILED', 'OTP_RATE_LIMITED', 'OTP_STORE_UNAVAILABLE', 'OTP_REFRESH_INVALID',
  'OTP_REFRESH_REUSED', 'OTP_INTERNAL_ERROR', 'OTP_TOTP_ALREADY_ENABLED', 'OTP_TOTP_NOT_PENDING', 'OTP_TOTP_NO_IDENTIFIER'
])

export function isOtpError (error: unknown): error is OtpError {
  return error instanceof Error && otpCodes.has((error as { code?: string }).code ?? '')
}

import createError from '@fastify/error'

/** An error the plugin answers with; `retryAfter` (seconds) becomes a `Retry-After` header and body field. */
export interface OtpError extends Error {
  code: string
  statusCode: number
  retryAfter?: number
}

// Every code the plugin answers with, gathered as the classes are made, so the list cannot drift from them.
const otpCodes = new Set<string>()
function otpError<C extends string, SC extends number> (code: C, message: string, statusCode: SC) {
  otpCodes.add(code)
  return createError(code, message, statusCode)
}

export const InvalidPhoneError = otpError('OTP_INVALID_PHONE', 'Not a valid phone number, or its country is not allowed', 400)
export const InvalidEmailError = otpError('OTP_INVALID_EMAIL', 'Not a valid e-mail address', 400)
export const SendBudgetExceededError = otpError('OTP_SEND_BUDGET_EXCEEDED', 'Too many codes are being sent to this region right now; try again later', 429)
export const ResendTooSoonError = otpError('OTP_RESEND_TOO_SOON', 'A code was sent moments ago; wait before asking for another', 429)
export const LockedError = otpError('OTP_LOCKED', 'Too many codes or wrong guesses for this identifier; try again later', 429)
export const AttemptsExceededError = otpError('OTP_ATTEMPTS_EXCEEDED', 'This code took too many wrong guesses; ask for a new code', 429)
export const GuessPendingError = otpError('OTP_GUESS_PENDING', 'Earlier guesses for this identifier are still being checked; try again in a second', 429)
export const InvalidCodeError = otpError('OTP_INVALID', 'The code is wrong, expired or already used', 401)
export const DeliveryFailedError = otpError('OTP_DELIVERY_FAILED', 'The code could not be delivered; try again', 502)
export const RefreshInvalidError = otpError('OTP_REFRESH_INVALID', 'The refresh token is unknown, expired or revoked', 401)
export const RefreshReusedError = otpError('OTP_REFRESH_REUSED', 'The refresh token was already used; its session is revoked', 401)
export const RateLimitedError = otpError('OTP_RATE_LIMITED', 'Too many requests from this address; retry in %s', 429)
export const TotpAlreadyEnabledError = otpError('OTP_TOTP_ALREADY_ENABLED', 'An authenticator is already set up; turn it off first', 409)
export const TotpNotPendingError = otpError('OTP_TOTP_NOT_PENDING', 'No authenticator setup is waiting to be confirmed; start a new setup', 409)
export const TotpNotEnabledError = otpError('OTP_TOTP_NOT_ENABLED', 'No authenticator is on; set one up first', 409)
export const StoreUnsupportedError = otpError('OTP_STORE_UNSUPPORTED', 'This server cannot do this yet (its credential store predates it)', 501)
export const TotpNoIdentifierError = otpError('OTP_TOTP_NO_IDENTIFIER', 'This token carries no phone number or e-mail address to bind an authenticator to', 403)
export const MfaTokenInvalidError = otpError('OTP_MFA_TOKEN_INVALID', 'The second-factor token is unknown, expired or already used; sign in again', 401)
export const FreshAuthRequiredError = otpError('OTP_FRESH_AUTH_REQUIRED', 'This needs a recent sign-in; sign in again', 403)
/** For the host's `linkIdentifier` to throw: the identifier is another user's (the answer comes only after a right code). */
export const IdentifierTakenError = otpError('OTP_IDENTIFIER_TAKEN', 'This phone number or e-mail address belongs to another account', 409)
export const SessionNotFoundError = otpError('OTP_SESSION_NOT_FOUND', 'No live session of yours has this id', 404)
export const OriginNotAllowedError = otpError('OTP_ORIGIN_NOT_ALLOWED', 'Requests from this origin may not use the session cookie', 403)
export const CaptchaInvalidError = otpError('OTP_CAPTCHA_INVALID', 'The captcha is missing or was not solved', 400)
export const CaptchaUnavailableError = otpError('OTP_CAPTCHA_UNAVAILABLE', 'The captcha cannot be checked right now; try again shortly', 503)
export const PasskeyInvalidError = otpError('OTP_PASSKEY_INVALID', 'The passkey sign-in could not be verified; try again', 401)
export const PasskeyRegistrationInvalidError = otpError('OTP_PASSKEY_INVALID', 'The new passkey could not be verified; try again', 400)
export const PasskeyNotFoundError = otpError('OTP_PASSKEY_NOT_FOUND', 'No passkey of yours has this id', 404)
export const PasskeyExistsError = otpError('OTP_PASSKEY_EXISTS', 'This passkey is already registered', 409)
export const PasskeyLimitError = otpError('OTP_PASSKEY_LIMIT', 'You have the most passkeys allowed; remove one first', 409)
export const InternalError = otpError('OTP_INTERNAL_ERROR', 'Something went wrong; try again', 500)
export const StoreUnavailableError = otpError('OTP_STORE_UNAVAILABLE', 'Login is unavailable right now; try again shortly', 503)

/** Attaches a whole number of seconds to wait (at least 1) to an error the plugin answers with. */
export function withRetryAfter<E extends Error> (error: E, retryAfterMs: number): E & { retryAfter: number } {
  return Object.assign(error, { retryAfter: Math.max(1, Math.ceil(retryAfterMs / 1000)) })
}

/** Every code the plugin answers with (for tests and docs that must name each one). */
export const otpErrorCodes = (): readonly string[] => [...otpCodes]

export function isOtpError (error: unknown): error is OtpError {
  return error instanceof Error && otpCodes.has((error as { code?: string }).code ?? '')
}

/**
 * What the log gets of an underlying error: its type, message and stack, not its enumerable extras
 * (ioredis attaches the command and its arguments, which name identifiers).
 */
export function plainError (err: unknown): { type: string, message: string, stack?: string } {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err) }
  return { type: err.name, message: err.message, ...(err.stack === undefined ? {} : { stack: err.stack }) }
}

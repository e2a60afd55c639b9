import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max'
import type { Channel } from './options.js'

export interface PhonePolicy {
  defaultCountry: CountryCode | undefined
  allowedCountries: ReadonlySet<CountryCode> | undefined
}

/** Who asks for a code: the normalised identifier, the claim it becomes and the channel that delivers to it. */
export interface Identity {
  claim: 'phone' | 'email'
  channel: Channel
  /** E.164 phone number or lower-cased e-mail address: the store's key and the token's claim. */
  value: string
  /** The country calling code of a phone number (`'91'`), for send budgets. */
  callingCode?: string
}

/** A phone number as written, read but not yet checked against its country's numbering plan. */
export interface ParsedPhone {
  identity: Identity
  /** Whether the number is in its country's numbering plan: the costly part of reading a number (~20 µs). */
  isValid: () => boolean
}

/**
 * Reads a phone number as E.164 (`+919876543210`) without checking its numbering plan, or returns undefined
 * when it cannot be a number at all, has an extension, or its country is not allowed. The whole field must be
 * the number: spaces, dashes, dots and brackets inside it are fine, and so are invisible format characters and
 * a bracketed calling code; other text around it is refused (the library would otherwise pick a number out of
 * any sentence).
 */
export function parsePhone (input: string, policy: PhonePolicy): ParsedPhone | undefined {
  const phone = parsePhoneNumberFromString(tidyPhone(input), { defaultCountry: policy.defaultCountry, extract: false })
  if (!phone || phone.ext !== undefined) return undefined
  if (policy.allowedCountries && (!phone.country || !policy.allowedCountries.has(phone.country))) return undefined
  return {
    identity: { claim: 'phone', channel: 'sms', value: phone.number, callingCode: phone.countryCallingCode },
    isValid: () => phone.isValid()
  }
}

// Invisible format characters (direction marks, zero-width spaces) that phones add to a number copied from
// contacts or a chat; and a calling code in brackets, `(+91) 98765 43210`, a common way to write one.
const formatCharacters = /\p{Cf}/gu
const bracketedCallingCode = /^\(\s*(\+\d{1,3})\s*\)/

function tidyPhone (input: string): string {
  return input.replace(formatCharacters, '').trim().replace(bracketedCallingCode, '$1 ')
}

/**
 * Reads a phone number as E.164, or returns undefined when it is not a valid number or its country is not
 * allowed. Uses libphonenumber-js's full metadata, so numbers are checked against each country's real
 * numbering plan, not just their length.
 */
export function normalizePhone (input: string, policy: PhonePolicy): Identity | undefined {
  const phone = parsePhone(input, policy)
  return phone?.isValid() === true ? phone.identity : undefined
}

/** `+1 555-000-0000` as `+15550000000` without checking the numbering plan: only for configured test identities. */
export function looseE164 (input: string): string | undefined {
  const compact = input.replace(/[\s().-]/g, '')
  return /^\+[1-9][0-9]{4,14}$/.test(compact) ? compact : undefined
}

const label = '[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]{0,61}[\\p{L}\\p{N}])?'
const emailFormat = new RegExp(
  `^(?!\\.)(?!.*\\.\\.)[\\p{L}\\p{N}!#$%&'+/=^_\`|~.-]{1,64}(?<!\\.)@(?:${label}\\.)+\\p{L}{2,63}$`, 'u'
)

/**
 * Trims and lower-cases an e-mail address and checks its shape (a dot-atom local part, a domain of valid
 * labels with an alphabetic top-level domain, at most 254 characters). Quoted local parts and IP-literal
 * domains are refused: no real user needs them to log in, and they are a classic source of parser confusion.
 * So are `{ } * ?`, legal but vanishingly rare: braces would break the Redis Cluster hash tag the address
 * goes into, and `*` `?` are glob characters in key patterns.
 */
export function normalizeEmail (input: string): Identity | undefined {
  const email = input.trim().toLowerCase()
  if (email.length > 254 || !emailFormat.test(email)) return undefined
  return { claim: 'email', channel: 'email', value: email }
}

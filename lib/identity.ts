import { domainToASCII } from 'node:url'
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max'
import { isValidNumber } from './fast-paths/numbering-plan.js'

export interface PhonePolicy {
  defaultCountry: CountryCode | undefined
  allowedCountries: ReadonlySet<CountryCode> | undefined
}

/** What a user types to sign in: a phone number or an e-mail address. It is also the token claim it becomes. */
export type IdentifierKind = 'phone' | 'email'

/** How a code travels to the user. */
export type Channel = 'sms' | 'email'

/** Who asks for a code: the normalised identifier, its kind (the claim it becomes) and the channel that delivers to it. */
export interface Identity {
  kind: IdentifierKind
  channel: Channel
  /** E.164 phone number or normalised e-mail address (see normalizeEmail): the store's key and the token's claim. */
  value: string
  /** The country calling code of a phone number (`'91'`), for send budgets. */
  callingCode?: string
}

/** A phone number as written, read but not yet checked against its country's numbering plan. */
export interface ParsedPhone {
  identity: Identity
  /** Whether the number is in its country's numbering plan (libphonenumber-js's answer, see numbering-plan.ts). */
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
    identity: { kind: 'phone', channel: 'sms', value: phone.number, callingCode: phone.countryCallingCode },
    isValid: () => isValidNumber(phone)
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

// The local part: a dot-atom of letters, digits and the usual symbols, in any script, no dot at either end or twice.
const localPart = /^(?!\.)(?!.*\.\.)[\p{L}\p{N}!#$%&'+/=^_`|~.-]{1,64}(?<!\.)$/u
// A domain as written may hold any non-ASCII character (UTS #46 maps or refuses those), but of ASCII only
// letters, digits, hyphens and dots: domainToASCII reads its input as a URL's host, so it would percent-decode
// `%61` and stop at `/`, `?`, `#` or `\`, and brackets would make an IP literal.
const domainAsWritten = /^[a-z0-9.\-\u0080-\u{10FFFF}]+$/u
// The ASCII form: letter-digit-hyphen labels of 1 to 63 characters, and a top-level domain of letters or an
// internationalised one in punycode (`xn--p1ai`), so neither an IP address nor a single label passes.
const asciiLabel = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?'
const asciiDomain = new RegExp(`^(?:${asciiLabel}\\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{0,57}[a-z0-9])$`)

/**
 * Normalises an e-mail address to the identifier it is known by: NFC, trimmed and lower-cased, with the
 * domain in its ASCII (punycode) form by UTS #46, so `Ana@Bücher.de`, `ana@xn--bcher-kva.de` and a spelling
 * with a full-width dot are one identity; the local part keeps its Unicode. Returns undefined for an address
 * whose shape is not a dot-atom local part at a domain of valid labels with an alphabetic or punycode top-level
 * domain, at most 254 characters in the ASCII form. Quoted local parts and IP-literal domains are refused: no
 * real user needs them to log in, and they are a classic source of parser confusion. So are `{ } * ?`, legal
 * but vanishingly rare: braces would break the Redis Cluster hash tag the address goes into, and `*` `?` are
 * glob characters in key patterns.
 */
export function normalizeEmail (input: string): Identity | undefined {
  const email = input.normalize('NFC').trim().toLowerCase()
  const at = email.lastIndexOf('@')
  const local = email.slice(0, at)
  const written = email.slice(at + 1)
  if (at < 1 || !localPart.test(local) || !domainAsWritten.test(written)) return undefined
  const domain = domainToASCII(written)
  const address = `${local}@${domain}`
  if (domain === '' || domain.length > 253 || address.length > 254 || !asciiDomain.test(domain)) return undefined
  return { kind: 'email', channel: 'email', value: address }
}

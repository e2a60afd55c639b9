import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max'

export interface PhonePolicy {
  defaultCountry: CountryCode | undefined
  allowedCountries: ReadonlySet<CountryCode> | undefined
}

/**
 * Reads a phone number as E.164 (`+919876543210`), or returns undefined when it is not a valid number or its
 * country is not allowed. Uses libphonenumber-js's full metadata, so numbers are checked against each country's
 * real numbering plan, not just their length.
 */
export function normalizePhone (input: string, policy: PhonePolicy): string | undefined {
  const phone = parsePhoneNumberFromString(input, policy.defaultCountry ? { defaultCountry: policy.defaultCountry } : undefined)
  if (!phone || !phone.isValid()) return undefined
  if (policy.allowedCountries && (!phone.country || !policy.allowedCountries.has(phone.country))) return undefined
  return phone.number
}

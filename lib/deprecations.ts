import { createDeprecation } from 'process-warning'

// Each old name keeps working for one release (0.2.x), with one warning per process, as fastify's FSTDEP ones.
export const deprecations = {
  channels: createDeprecation({
    code: 'FOTPDEP001',
    message: 'option "channels" is now "identifierKinds" (it lists identifier kinds, not channels); "channels" goes in 0.3'
  }),
  eventMethod: createDeprecation({
    code: 'FOTPDEP002',
    message: 'the event field "method" is now "factor"; "method" goes in 0.3'
  }),
  totpStore: createDeprecation({
    code: 'FOTPDEP003',
    message: 'option "totpStore" is now "credentialStore" (a CredentialStore: authenticators and passkeys); "totpStore" goes in 0.3'
  })
}

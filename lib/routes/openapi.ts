/** What the routes add to the host's OpenAPI document (through @fastify/swagger) besides their JSON schemas. */
import type { FastifyInstance, RouteOptions } from 'fastify'

/**
 * The name of the OpenAPI security scheme the authenticated routes require. The host defines it in
 * @fastify/swagger's `openapi.components.securitySchemes` (`securitySchemes` below); where it does not,
 * documentSecurityScheme() adds it.
 */
export const securitySchemeName = 'bearerAuth'

/** The host's `components.securitySchemes`, or their part of them: `Authorization: Bearer <access token>`. */
export const securitySchemes = {
  [securitySchemeName]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }
} as const

/**
 * A route that takes `Authorization: Bearer <access token>`, declared as `security` and not as a header
 * parameter, which OpenAPI 3 ignores (Swagger UI would not send it). The route's onRequest handler checks the
 * token before any schema would, so no validation is lost.
 */
export const withBearerAuth = <S extends object>(schema: S) => ({ ...schema, security: [{ [securitySchemeName]: [] }] })

/** A route anyone may call: an empty `security` also overrides any document-wide security the host declares. */
export const withoutAuth = <S extends object>(schema: S) => ({ ...schema, security: [] })

/** Swagger 2.0 has no bearer scheme: the same header, as an API key. */
const swagger2Definition = { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Bearer <access token>' }

interface SwaggerDocument { components?: { securitySchemes?: Record<string, unknown> }, securityDefinitions?: Record<string, unknown> }
interface SwaggerTransformArgs { openapiObject?: SwaggerDocument, swaggerObject?: SwaggerDocument }

/**
 * Adds the bearer scheme to the document @fastify/swagger is building, unless the host defined its own under
 * that name. Without it @fastify/swagger cannot build the document at all (a TypeError: /docs/json answers 500).
 * Objects are replaced, not changed: they may be the host's own options.
 */
function addSecurityScheme ({ openapiObject, swaggerObject }: SwaggerTransformArgs): Record<string, never> {
  if (openapiObject) {
    const schemes = openapiObject.components?.securitySchemes
    if (schemes?.[securitySchemeName] === undefined) {
      openapiObject.components = { ...openapiObject.components, securitySchemes: { ...schemes, ...securitySchemes } }
    }
  } else if (swaggerObject && swaggerObject.securityDefinitions?.[securitySchemeName] === undefined) {
    swaggerObject.securityDefinitions = { ...swaggerObject.securityDefinitions, [securitySchemeName]: swagger2Definition }
  }
  return {} // the route's own schema and URL
}

/**
 * Every route of `fastify` declared withBearerAuth() gets addSecurityScheme() as its @fastify/swagger
 * `swaggerTransform`, so a host needs no OpenAPI settings for the plugin. The cost: @fastify/swagger runs a
 * route's own transform instead of the host's global `transform`, which so skips these routes.
 */
export function documentSecurityScheme (fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const security = (route.schema as { security?: Array<Record<string, unknown>> } | undefined)?.security
    if (!security?.some((requirement) => securitySchemeName in requirement)) return
    const config: Record<string, unknown> = { ...route.config, swaggerTransform: addSecurityScheme }
    route.config = config
  })
}

/** The schema with its `operationId`, made by operationId(). */
export const withOperationId = <S extends object>(schema: S, prefix: string, name: string) => ({ ...schema, operationId: operationId(prefix, name) })

/**
 * An operation's `operationId`: its name after the camel-cased prefix its routes are served under (`login`
 * under `/api/auth` is `apiAuthLogin`; with no prefix, `login`). Two registrations of the plugin under two
 * prefixes so get different ids.
 */
export function operationId (prefix: string, name: string): string {
  const [first = '', ...rest] = [...prefix.split(/[^A-Za-z0-9]+/), name].filter((word) => word !== '')
  return first.charAt(0).toLowerCase() + first.slice(1) + rest.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('')
}

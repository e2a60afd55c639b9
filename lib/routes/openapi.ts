/** What the routes add to the host's OpenAPI document (through @fastify/swagger) besides their JSON schemas. */
import type { FastifyInstance, RouteOptions } from 'fastify'

/**
 * The name of the OpenAPI security scheme the authenticated routes require. The host defines it in
 * @fastify/swagger's `openapi.components.securitySchemes` (`securitySchemes` below); where it does not,
 * documentRoutes() adds it.
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

interface Operation { operationId?: unknown, requestBody?: { required?: boolean } }
interface SwaggerDocument {
  components?: { securitySchemes?: Record<string, unknown> }
  securityDefinitions?: Record<string, unknown>
  paths?: Record<string, Record<string, Operation> | undefined>
}
interface SwaggerTransformArgs { openapiObject?: SwaggerDocument, swaggerObject?: SwaggerDocument }

export const optionalBodyMark: unique symbol = Symbol('fastify-otp-login: optional body')

/**
 * A route whose body may be left out (`/logout`, cookie-mode `/refresh`: no body is taken as `{}`). Fastify
 * itself refuses a missing body, so @fastify/swagger declares every body `required`; documentRoutes() says
 * otherwise for these.
 */
export const withOptionalBody = <S extends object>(schema: S) => ({ ...schema, [optionalBodyMark]: true })

/**
 * Adds the bearer scheme to the document @fastify/swagger is building, unless the host defined its own under
 * that name. Without it @fastify/swagger cannot build the document at all (a TypeError: /docs/json answers 500).
 * Objects are replaced, not changed: they may be the host's own options.
 */
function addSecurityScheme ({ openapiObject, swaggerObject }: SwaggerTransformArgs): void {
  if (openapiObject) {
    const schemes = openapiObject.components?.securitySchemes
    if (schemes?.[securitySchemeName] === undefined) {
      openapiObject.components = { ...openapiObject.components, securitySchemes: { ...schemes, ...securitySchemes } }
    }
  } else if (swaggerObject && swaggerObject.securityDefinitions?.[securitySchemeName] === undefined) {
    swaggerObject.securityDefinitions = { ...swaggerObject.securityDefinitions, [securitySchemeName]: swagger2Definition }
  }
}

/**
 * Marks the bodies of the operations named in `optional` that the document already holds as optional. (A Swagger
 * 2.0 body parameter is optional unless it says otherwise.)
 */
function markOptionalBodies ({ openapiObject }: SwaggerTransformArgs, optional: ReadonlySet<string>): void {
  for (const methods of Object.values(openapiObject?.paths ?? {})) {
    if (methods === undefined) continue
    for (const [method, operation] of Object.entries(methods)) {
      if (!optional.has(String(operation.operationId)) || operation.requestBody?.required !== true) continue
      methods[method] = { ...operation, requestBody: { ...operation.requestBody, required: false } }
    }
  }
}

/**
 * Gives every route of `fastify` declared withBearerAuth() a @fastify/swagger `swaggerTransform`, so a host needs
 * no OpenAPI settings for the plugin: it adds the bearer scheme, and marks the bodies of the routes declared
 * withOptionalBody() optional. @fastify/swagger has no hook after an operation is written, so these are marked by
 * the transforms of the routes after them (GET /sessions follows /refresh and /logout). The cost: @fastify/swagger
 * runs a route's own transform instead of the host's global `transform`, which so skips the bearer routes.
 */
export function documentRoutes (fastify: FastifyInstance): void {
  const optional = new Set<string>()
  const transform = (args: SwaggerTransformArgs): Record<string, never> => {
    addSecurityScheme(args)
    markOptionalBodies(args, optional)
    return {} // the route's own schema and URL
  }
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as { security?: Array<Record<string, unknown>>, operationId?: string, [optionalBodyMark]?: true } | undefined
    if (schema?.[optionalBodyMark] === true && schema.operationId !== undefined) optional.add(schema.operationId)
    if (!schema?.security?.some((requirement) => securitySchemeName in requirement)) return
    const config: Record<string, unknown> = { ...route.config, swaggerTransform: transform }
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

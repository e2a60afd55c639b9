import { routeLimit, type RouteContext } from './context.js'
import { logoutSchema, refreshSchema } from './schemas.js'

interface RefreshBody { refresh: string }

/** `POST /refresh` (rotation with reuse detection) and `POST /logout`. */
export function sessionRoutes ({ fastify, settings, tokens }: RouteContext): void {
  fastify.post<{ Body: RefreshBody }>('/refresh', {
    schema: refreshSchema,
    bodyLimit: 1024,
    config: routeLimit(settings.rateLimit && settings.rateLimit.refresh)
  }, async function refresh (request, reply) {
    return await tokens.refresh(reply, request.body.refresh)
  })

  fastify.post('/logout', {
    schema: logoutSchema,
    bodyLimit: 1024,
    onRequest: [fastify.authenticate]
  }, async function logout (request, reply) {
    await tokens.endSession(request.user)
    return reply.code(204).send()
  })
}

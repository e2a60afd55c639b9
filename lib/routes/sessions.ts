import { RefreshInvalidError, RefreshReusedError } from '../errors.js'
import { routeLimit, type RouteContext } from './context.js'
import { withOperationId } from './openapi.js'
import { logoutSchema, refreshSchema } from './schemas.js'

interface RefreshBody { refresh: string }

/** Who a session belongs to, for events. */
function subject (claims: Record<string, unknown>): { userId?: string, identifier?: string } {
  const identifier = typeof claims.phone === 'string' ? claims.phone : typeof claims.email === 'string' ? claims.email : undefined
  return {
    ...(typeof claims.sub === 'string' ? { userId: claims.sub } : {}),
    ...(identifier === undefined ? {} : { identifier })
  }
}

/** `POST /refresh` (rotation with reuse detection) and `POST /logout`. */
export function sessionRoutes ({ fastify, settings, tokens, emit }: RouteContext): void {
  fastify.post<{ Body: RefreshBody }>('/refresh', {
    schema: withOperationId(refreshSchema, fastify.prefix, 'refresh'),
    bodyLimit: 1024,
    config: routeLimit(settings.rateLimit && settings.rateLimit.refresh)
  }, async function refresh (request, reply) {
    try {
      const { body, claims } = await tokens.refresh(reply, request.body.refresh)
      emit(request, { type: 'refreshed', ...subject(claims) })
      return body
    } catch (err) {
      if (err instanceof RefreshReusedError) emit(request, { type: 'refresh-failed', reason: 'reused' })
      if (err instanceof RefreshInvalidError) emit(request, { type: 'refresh-failed', reason: 'invalid' })
      throw err
    }
  })

  fastify.post('/logout', {
    schema: withOperationId(logoutSchema, fastify.prefix, 'logout'),
    bodyLimit: 1024,
    // The signature here; whether the session is still live, endSession checks in the same round trip.
    onRequest: async (request) => { await request.jwtVerify() }
  }, async function logout (request, reply) {
    await tokens.endSession(request.user)
    emit(request, { type: 'logged-out', ...subject(request.user) })
    return reply.code(204).send()
  })
}

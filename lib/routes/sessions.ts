import type { FastifyReply, FastifyRequest } from 'fastify'
import { RefreshInvalidError, RefreshReusedError, SessionNotFoundError } from '../errors.js'
import type { TokenBody } from '../tokens.js'
import type { OtpUser } from '../types.js'
import type { SessionRoutesInput } from './context.js'
import { withOperationId, withOptionalBody } from './openapi.js'
import { cookieRefreshSchema, endSessionSchema, listSessionsSchema, logoutSchema, refreshSchema } from './session-schemas.js'

/** Who a session belongs to, for events. */
function subject (claims: Record<string, unknown>): { userId?: string, identifier?: string } {
  const identifier = typeof claims.phone === 'string' ? claims.phone : typeof claims.email === 'string' ? claims.email : undefined
  return {
    ...(typeof claims.sub === 'string' ? { userId: claims.sub } : {}),
    ...(identifier === undefined ? {} : { identifier })
  }
}

/** `POST /refresh` (rotation with reuse detection), `POST /logout`, `GET /sessions` and `DELETE /sessions/:id`. */
export function sessionRoutes ({ fastify, tokens, emit, verifyToken, cookies, config }: SessionRoutesInput): void {
  const account = { bodyLimit: 1024, config: config.account }
  // No body is the same as `{}` (a cookie-mode /refresh, a /logout of the current session).
  const emptyBody = (request: { body: unknown }, _reply: unknown, done: () => void): void => {
    request.body ??= {}
    done()
  }

  // Registered before GET /sessions, whose document transform marks these two bodies optional (documentRoutes()).
  if (cookies === undefined) {
    fastify.post('/refresh', {
      schema: withOperationId(refreshSchema, fastify.prefix, 'refresh'), bodyLimit: 1024, config: config.refresh
    }, async function refresh (request, reply) {
      return await rotate(request.body.refresh, request, reply)
    })
  } else {
    const jar = cookies
    fastify.post('/refresh', {
      schema: withOptionalBody(withOperationId(cookieRefreshSchema, fastify.prefix, 'refresh')),
      bodyLimit: 1024,
      config: config.refresh,
      onRequest: jar.checkOrigin,
      preValidation: emptyBody
    }, async function refresh (request, reply) {
      return await rotate(jar.refreshToken(request), request, reply)
    })
  }

  async function rotate (presented: string | undefined, request: FastifyRequest, reply: FastifyReply): Promise<TokenBody> {
    try {
      if (presented === undefined) throw new RefreshInvalidError()
      const { body, claims } = await tokens.refresh(reply, presented)
      emit(request, { type: 'refreshed', ...subject(claims) })
      return cookies === undefined ? body : cookies.store(reply, body)
    } catch (err) {
      if (err instanceof RefreshReusedError) {
        emit(request, { type: 'refresh-failed', reason: 'reused' })
        const sessionId = (err as { sessionId?: string }).sessionId
        emit(request, { type: 'session-ended', reason: 'reuse', ...(sessionId === undefined ? {} : { sessionId }) })
      }
      if (err instanceof RefreshInvalidError) emit(request, { type: 'refresh-failed', reason: 'invalid' })
      // A cookie that no longer opens a session is dropped, so the page stops presenting it.
      if (cookies !== undefined && (err instanceof RefreshInvalidError || err instanceof RefreshReusedError)) cookies.clearRefresh(reply)
      throw err
    }
  }

  fastify.post('/logout', {
    ...account,
    schema: withOptionalBody(withOperationId(logoutSchema, fastify.prefix, 'logout')),
    // The signature here; whether the session is still live, logout checks in the same round trip.
    ...(cookies === undefined ? {} : { onRequest: cookies.checkOrigin }),
    // preParsing, not onRequest: the per-IP limit (an onRequest hook) counts forged tokens too.
    preParsing: verifyToken,
    preValidation: emptyBody
  }, async function logout (request, reply) {
    const ended = await tokens.logout(request.user, request.body.scope ?? 'current')
    cookies?.clearAll(reply)
    for (const sessionId of ended) emit(request, { type: 'session-ended', reason: 'logout', sessionId, ...subject(request.user) })
    emit(request, { type: 'logged-out', ...subject(request.user) })
    return reply.code(204).send()
  })

  fastify.get('/sessions', {
    ...account, schema: withOperationId(listSessionsSchema, fastify.prefix, 'listSessions'), preParsing: fastify.authenticate
  }, async function listSessions (request) {
    const user: OtpUser = request.user
    const sessions = await tokens.list(user.sub)
    return { sessions: sessions.map((session) => ({ ...session, current: session.id === user.sid })) }
  })

  fastify.delete('/sessions/:id', {
    ...account, schema: withOperationId(endSessionSchema, fastify.prefix, 'endSession'), preParsing: fastify.authenticate
  }, async function endSession (request, reply) {
    if (!await tokens.revoke(request.user.sub, request.params.id)) throw new SessionNotFoundError()
    emit(request, { type: 'session-ended', reason: 'revoked', sessionId: request.params.id, ...subject(request.user) })
    return reply.code(204).send()
  })
}

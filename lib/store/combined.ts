import type { CodeStore } from './codes/types.js'
import type { SessionStore } from './sessions/types.js'
import type { OtpStore } from './types.js'

/**
 * One `OtpStore` of a code store and a session store: what `MemoryStore` and `RedisStore` are made of. Its
 * methods live on the prototype, so a subclass can still override one.
 */
export class CombinedStore<Codes extends CodeStore, Sessions extends SessionStore> implements OtpStore {
  constructor (protected readonly codes: Codes, protected readonly sessions: Sessions) {}

  // Each concern's own promise, handed on: no await in between, so a call costs what it did before the split.
  issueCode (...args: Parameters<CodeStore['issueCode']>): ReturnType<CodeStore['issueCode']> { return this.codes.issueCode(...args) }
  revokeCode (...args: Parameters<CodeStore['revokeCode']>): ReturnType<CodeStore['revokeCode']> { return this.codes.revokeCode(...args) }
  verifyCode (...args: Parameters<CodeStore['verifyCode']>): ReturnType<CodeStore['verifyCode']> { return this.codes.verifyCode(...args) }
  consumeBudget (...args: Parameters<CodeStore['consumeBudget']>): ReturnType<CodeStore['consumeBudget']> { return this.codes.consumeBudget(...args) }
  refundBudget (...args: Parameters<CodeStore['refundBudget']>): ReturnType<CodeStore['refundBudget']> { return this.codes.refundBudget(...args) }
  reserveGuess (...args: Parameters<CodeStore['reserveGuess']>): ReturnType<CodeStore['reserveGuess']> { return this.codes.reserveGuess(...args) }
  refundGuess (...args: Parameters<CodeStore['refundGuess']>): ReturnType<CodeStore['refundGuess']> { return this.codes.refundGuess(...args) }
  lockOut (...args: Parameters<CodeStore['lockOut']>): ReturnType<CodeStore['lockOut']> { return this.codes.lockOut(...args) }
  clearFailures (...args: Parameters<CodeStore['clearFailures']>): ReturnType<CodeStore['clearFailures']> { return this.codes.clearFailures(...args) }
  resetCounters (...args: Parameters<CodeStore['resetCounters']>): ReturnType<CodeStore['resetCounters']> { return this.codes.resetCounters(...args) }
  createChallenge (...args: Parameters<CodeStore['createChallenge']>): ReturnType<CodeStore['createChallenge']> { return this.codes.createChallenge(...args) }
  reserveChallenge (...args: Parameters<CodeStore['reserveChallenge']>): ReturnType<CodeStore['reserveChallenge']> { return this.codes.reserveChallenge(...args) }
  refundChallenge (...args: Parameters<CodeStore['refundChallenge']>): ReturnType<CodeStore['refundChallenge']> { return this.codes.refundChallenge(...args) }
  consumeChallenge (...args: Parameters<CodeStore['consumeChallenge']>): ReturnType<CodeStore['consumeChallenge']> { return this.codes.consumeChallenge(...args) }
  savePasskeyChallenge (...args: Parameters<CodeStore['savePasskeyChallenge']>): ReturnType<CodeStore['savePasskeyChallenge']> { return this.codes.savePasskeyChallenge(...args) }
  takePasskeyChallenge (...args: Parameters<CodeStore['takePasskeyChallenge']>): ReturnType<CodeStore['takePasskeyChallenge']> { return this.codes.takePasskeyChallenge(...args) }

  createSession (...args: Parameters<SessionStore['createSession']>): ReturnType<SessionStore['createSession']> { return this.sessions.createSession(...args) }
  rotateSession (...args: Parameters<SessionStore['rotateSession']>): ReturnType<SessionStore['rotateSession']> { return this.sessions.rotateSession(...args) }
  undoRotation (...args: Parameters<SessionStore['undoRotation']>): ReturnType<SessionStore['undoRotation']> { return this.sessions.undoRotation(...args) }
  restoreSessions (...args: Parameters<SessionStore['restoreSessions']>): ReturnType<SessionStore['restoreSessions']> { return this.sessions.restoreSessions(...args) }
  isSessionLive (...args: Parameters<SessionStore['isSessionLive']>): ReturnType<SessionStore['isSessionLive']> { return this.sessions.isSessionLive(...args) }
  endSessions (...args: Parameters<SessionStore['endSessions']>): ReturnType<SessionStore['endSessions']> { return this.sessions.endSessions(...args) }
  listSessions (...args: Parameters<SessionStore['listSessions']>): ReturnType<SessionStore['listSessions']> { return this.sessions.listSessions(...args) }
}

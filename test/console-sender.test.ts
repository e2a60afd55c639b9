import t from 'tap'
import { consoleSender } from '../lib/index.js'
import { buildApp, restoreEnv } from './helpers/app.js'

t.test('consoleSender prints the code, says it is for development, and warns', async (t) => {
  const warnings: Array<string | Error> = []
  const onWarning = (w: Error) => { warnings.push(w) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const lines: string[] = []
  const send = consoleSender({ write: (line) => { lines.push(line) } })
  const { login } = await buildApp(t, 'memory', { send })
  t.equal((await login('+919876543210')).statusCode, 200)
  t.equal(lines.length, 1)
  t.match(lines[0], /development sms code for \+919876543210: \d{6} \(valid 600s; consoleSender is for development only\)/)
  await new Promise((resolve) => setImmediate(resolve))
  t.match(warnings.map(String).join(), /for development only/)
})

t.test('consoleSender refuses to run with NODE_ENV=production', async (t) => {
  const env = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.teardown(() => { restoreEnv('NODE_ENV', env) })
  t.throws(() => consoleSender(), /development only/)
})

t.test("consoleSender's options are checked when it is created", async (t) => {
  t.throws(() => consoleSender({ write: 'stdout' } as never), /consoleSender option "write" must be a function/)
  t.throws(() => consoleSender({ colour: true } as never), /consoleSender has no option "colour"/)
})

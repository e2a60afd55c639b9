import Ajv, { type ErrorObject } from 'ajv'
import type { Static, TSchema } from '@sinclair/typebox'

/**
 * Options checked against a TypeBox schema, with messages that name the option and say what it must be. A
 * schema node may carry, beside JSON Schema:
 * - `rule`: what the value must be (`'must be an integer from 6 to 10'`); a value that fails anywhere below the
 *   node is reported with the nearest rule above it, under that node's name;
 * - `secret`: the value is never shown: `'length'` shows its length, `'kind'` only whether it is an empty string;
 * - `unknown`: what to say of an unknown key of this object (`{key}` in it: said of the object, else of the key);
 * - `check`: the name of a predicate the checker is given, for what JSON Schema cannot say (a function, a country);
 * - `methods`: the names of functions an object (a store, a client) must have;
 * - `defaultText`: the README's default column, where `default` cannot say it.
 */
export type Predicates = Readonly<Record<string, (value: unknown) => boolean>>

export interface MessageStyle {
  /** A wrong value; `shown` is what was given, or undefined where it must not or need not be quoted. */
  invalid: (name: string, rule: string, shown: string | undefined) => string
  unknown: (name: string, key: string) => string
  notObject: string
  /** The `name` of the Error thrown for a wrong value (not for an unknown option); default 'Error'. */
  errorName?: string
}

interface Node {
  rule?: string
  secret?: 'length' | 'kind'
  unknown?: string
  properties?: Record<string, Node>
  [keyword: string]: unknown
}

/** Checks one options object against `schema` and returns it, typed; throws an Error with the style's message. */
export function schemaChecker<T extends TSchema> (schema: T, style: MessageStyle, predicates: Predicates = {}): (opts: unknown) => Static<T> {
  let validate: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } | undefined
  return (opts) => {
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new Error(style.notObject)
    validate ??= compile(schema, predicates)
    if (!validate(opts)) {
      const { message, unknown } = explain(schema, opts, pick(schema, validate.errors ?? []), style)
      const error = new Error(message)
      if (!unknown && style.errorName !== undefined) error.name = style.errorName
      throw error
    }
    return opts as Static<T>
  }
}

function compile (schema: TSchema, predicates: Predicates): ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } {
  // Lengths count characters (code points), as ajv does; ajv's `unicode: false` would count UTF-16 units but is deprecated.
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, coerceTypes: false, useDefaults: false })
  for (const keyword of ['rule', 'secret', 'unknown', 'defaultText']) ajv.addKeyword({ keyword })
  ajv.addKeyword({
    keyword: 'check',
    schemaType: 'string',
    validate: (name: string, data: unknown) => {
      const predicate = predicates[name]
      if (predicate === undefined) throw new Error(`no predicate "${name}"`)
      return predicate(data)
    }
  })
  ajv.addKeyword({
    keyword: 'methods',
    schemaType: 'array',
    validate: (names: readonly string[], data: unknown) => typeof data === 'object' && data !== null &&
      names.every((name) => typeof (data as Record<string, unknown>)[name] === 'function')
  })
  return ajv.compile(schema)
}

// Every error is collected, so the first option is reported as a reader would check them: unknown names, then
// the schema's order. A union's branches each report; the error that went deepest into the value says the most.
function pick (schema: TSchema, errors: readonly ErrorObject[]): ErrorObject | undefined {
  const order = Object.keys((schema as Node).properties ?? {})
  const rank = (error: ErrorObject): number => {
    const top = error.instancePath === '' ? String(error.params.missingProperty ?? '') : unescape(error.instancePath.split('/')[1] ?? '')
    return error.instancePath === '' && error.keyword === 'additionalProperties' ? -1 : order.indexOf(top)
  }
  let best: ErrorObject | undefined
  let bestRank = Infinity
  let bestDepth = -1
  for (const error of errors) {
    const depth = error.instancePath.split('/').length + (error.keyword === 'additionalProperties' || error.keyword === 'required' ? 1 : 0)
    const at = rank(error)
    if (at < bestRank || (at === bestRank && depth > bestDepth)) [best, bestRank, bestDepth] = [error, at, depth]
  }
  return best
}

const unescape = (segment: string): string => decodeURIComponent(segment).replaceAll('~1', '/').replaceAll('~0', '~')

/** Walks the failing schema path down to the keyword, keeping the last node with a rule: its name, its value. */
function explain (schema: TSchema, data: unknown, error: ErrorObject | undefined, style: MessageStyle): { message: string, unknown: boolean } {
  if (error === undefined) return { message: style.notObject, unknown: false }
  const steps = error.schemaPath.split('/').slice(1, -1).map(unescape)
  const keys = error.instancePath.split('/').slice(1).map(unescape)
  let next = 0
  let node = schema as Node
  let value = data
  let name: string[] = []
  let ruled = { node, value, name }
  // Array indices are walked but not named: "allowedCountries", not "allowedCountries.1".
  const enter = (child: unknown, key?: string, named = true): void => {
    node = (child ?? {}) as Node
    if (key !== undefined) {
      value = (value as Record<string, unknown> | undefined)?.[key]
      if (named) name = [...name, key]
    }
    if (node.rule !== undefined) ruled = { node, value, name }
  }
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i] as string
    const child = (node as Record<string, unknown>)[step]
    if (step === 'properties' || step === 'patternProperties') enter((child as Record<string, unknown>)[steps[++i] as string], keys[next++])
    else if (step === 'additionalProperties') enter(child, keys[next++])
    else if (step === 'items') enter(child, keys[next++], false)
    else if (step === 'anyOf' || step === 'oneOf' || step === 'allOf') enter((child as unknown[])[Number(steps[++i])])
    else if (step === 'propertyNames') {
      enter(child)
      // A key is wrong: it is the value shown, under the object's name.
      if (node.rule !== undefined) ruled = { node, value: error.propertyName, name }
    } else enter(child)
  }
  if (error.keyword === 'propertyNames' && node.propertyNames !== undefined) {
    enter(node.propertyNames)
    if (node.rule !== undefined) ruled = { node, value: error.params.propertyName, name }
  }
  if (error.keyword === 'additionalProperties') {
    const key = String(error.params.additionalProperty)
    const path = [...name, key].join('.')
    if (node.unknown === undefined) return { message: style.unknown(path, key), unknown: true }
    const message = node.unknown.includes('{key}')
      ? style.invalid(name.join('.'), node.unknown.replaceAll('{key}', key), undefined)
      : style.invalid(path, node.unknown, undefined)
    return { message, unknown: true }
  }
  if (error.keyword === 'required') {
    const key = String(error.params.missingProperty)
    enter(node.properties?.[key], key)
  }
  const { node: at, value: given } = ruled
  const shown = at.secret === undefined ? describe(given) : secretShown(given, at.secret)
  return { message: style.invalid(ruled.name.join('.'), at.rule ?? 'is not valid', shown), unknown: false }
}

export function describe (value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  if (typeof value === 'object') return 'an object'
  return String(value)
}

// Never echo a secret: say only how long it was.
function secretShown (value: unknown, how: 'length' | 'kind'): string {
  if (typeof value !== 'string') return typeof value
  return how === 'length' ? `${value.length} characters` : value === '' ? 'an empty string' : 'a string'
}

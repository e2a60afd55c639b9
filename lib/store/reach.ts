import { StoreUnavailableError } from '../errors.js'

/** Runs one store operation; any failure becomes `503 OTP_STORE_UNAVAILABLE`, so the plugin fails closed. */
export async function reachStore<T> (operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (err) {
    throw new StoreUnavailableError({ cause: err })
  }
}

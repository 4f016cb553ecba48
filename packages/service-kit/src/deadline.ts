/**
 * Deadlines for calls on a request path (SECURITY.md: a 5 s HTTP deadline). A dependency that does
 * not answer in time is treated like one that is down: the caller fails closed (503) instead of
 * waiting out a client library's own, longer timeout. The late answer, if any, is ignored.
 */

/** Settles like `op`, or rejects with "<what> did not answer in <ms> ms" once `ms` have passed. */
export async function withDeadline<T> (op: Promise<T>, ms: number, what = 'the dependency'): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} did not answer in ${ms} ms`)) }, ms)
  })
  try {
    return await Promise.race([op, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The same object with a deadline on each of its methods (a store port, an event publisher: plain
 * objects of async functions). Wrap once where the client is made, and every caller has it.
 */
export function withDeadlines<T extends object> (target: T, ms: number, what: string): T {
  const wrapped: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(target)) {
    wrapped[name] = typeof value === 'function'
      ? async (...args: unknown[]) => withDeadline(Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args)), ms, what)
      : value
  }
  return wrapped as T
}

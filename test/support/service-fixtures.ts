import { type LbaasRequest, parseRequest } from '../../functions/domain/lbaas-request.js';

/** Parses a factory message like the scheduler does (defaults filled in, ids lower-cased). */
export function parsed(message: Record<string, unknown>): LbaasRequest {
  const result = parseRequest(JSON.stringify(message));
  if (!result.ok) throw new Error(result.reason);
  return result.request;
}

/** A clock the test moves by hand. */
export function manualClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

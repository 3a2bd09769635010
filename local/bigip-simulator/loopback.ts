import type { StoredObject } from './ltm-model.js';
import { splitMember } from './ltm-types.js';

/** Only loopback addresses are served and probed: the sandbox never reaches outside the machine. */
export const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** A loopback IPv4 destination (`/P/127.0.0.2:18080`), or undefined for anything the sandbox does not serve. */
export function destinationOf(vs: StoredObject): { address: string; port: number } | undefined {
  const name =
    String(vs.attrs.destination ?? '')
      .split('/')
      .pop() ?? '';
  const [address, port] = splitMember(name);
  const bare = address.replace(/%\d+$/, '');
  if (!LOOPBACK_V4.test(bare) || port === undefined || port <= 0) return undefined;
  return { address: bare, port };
}

import type { StoredObject } from './ltm-model.js';
import { splitMember } from './ltm-types.js';

/** Only loopback addresses are served and probed: the sandbox never reaches outside the machine. */
export const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * Where the sandbox serves or reaches an address, or undefined when it does not. Route domain 0
 * (no suffix): the address itself, if on the loopback. Route domain N (1-255, `a.b.c.d%N`, a
 * tenant network's): the loopback range 127.N.0.0/16, keeping the address's last two octets, so
 * network A's 10.0.0.5%2 is 127.2.0.5 and network B's 10.0.0.5%3 is 127.3.0.5: two servers, as
 * two route domains keep them (device-facts.md §2.4). A sandbox rule of ours, not a device's: a
 * route domain above 255 or an IPv6 address in one is not served (docs/tenant-networks.md).
 */
export function sandboxAddress(address: string): string | undefined {
  const m = /^(\d{1,3}\.\d{1,3}\.(\d{1,3})\.(\d{1,3}))(?:%(\d+))?$/.exec(address);
  if (!m) return undefined;
  const [, bare, third, fourth, rd] = m as unknown as [string, string, string, string, string | undefined];
  if (rd === undefined || Number(rd) === 0) return LOOPBACK_V4.test(bare) ? bare : undefined;
  const id = Number(rd);
  return id <= 255 ? `127.${id}.${third}.${fourth}` : undefined;
}

/** A virtual's destination where the sandbox serves it (`/P/127.0.0.2:18080`; `/P/10.0.0.10%2:80` → 127.2.0.10:80), or undefined. */
export function destinationOf(vs: StoredObject): { address: string; port: number } | undefined {
  const name =
    String(vs.attrs.destination ?? '')
      .split('/')
      .pop() ?? '';
  const [address, port] = splitMember(name);
  const served = sandboxAddress(address);
  if (!served || port === undefined || port <= 0) return undefined;
  return { address: served, port };
}

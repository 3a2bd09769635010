import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertSafeName,
  destination,
  memberAddress,
  memberName,
  partitionName,
  urlId,
} from '../../../functions/domain/bigip-names.js';
import { UnsafeBigIpNameError } from '../../../functions/domain/errors.js';

describe('BIG-IP names and URL ids', () => {
  it('follows the upstream naming', () => {
    expect(partitionName('Project', '3f2a9c0d7e6b4d1a8c5e9f0a1b2c3d4e')).toBe(
      'Project_3f2a9c0d7e6b4d1a8c5e9f0a1b2c3d4e',
    );
    expect(memberName('10.0.0.5', 80)).toBe('10.0.0.5:80');
    expect(memberName('2001:db8::5', 80)).toBe('2001:db8::5.80');
    expect(destination('P', '2001:db8::1', 443)).toBe('/P/2001:db8::1.443');
  });

  it('escapes the route-domain % as %25 in URL ids', () => {
    expect(urlId('Project_t', '10.0.0.5%3:80')).toBe('~Project_t~10.0.0.5%253:80');
  });

  it.each([
    'a/b',
    'a~b',
    '../etc',
    '..',
    'a b',
    'a?b',
    'a#b',
    '<x>',
    '',
    'x'.repeat(65),
    'a\u0000b',
    'é',
    '-lead',
  ])('refuses %j before it can reach a URL', (name) => {
    expect(() => assertSafeName(name)).toThrow(UnsafeBigIpNameError);
  });

  it('never builds a URL id that changes the path, whatever the input (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.string({ unit: 'binary', maxLength: 80 }),
        (p, n) => {
          let id: string;
          try {
            id = urlId(p, n);
          } catch (error) {
            return error instanceof UnsafeBigIpNameError;
          }
          // Accepted: one path segment, nothing the URL parser treats specially, and it decodes back.
          const url = new URL(`https://device/mgmt/tm/ltm/pool/${id}`);
          return (
            url.pathname === `/mgmt/tm/ltm/pool/${id}` &&
            !/[/?#\s\\]/.test(id) &&
            decodeURIComponent(id) === `~${p}~${n}`
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('memberAddress', () => {
  it('recovers the node address from member names of every form', () => {
    expect(memberAddress('10.0.0.9:8080')).toBe('10.0.0.9');
    expect(memberAddress('10.0.0.9%2:80')).toBe('10.0.0.9%2');
    expect(memberAddress('2001:db8::1.8080')).toBe('2001:db8::1');
    expect(memberAddress('fd00:1:2:3:4:5:6:7%3.443')).toBe('fd00:1:2:3:4:5:6:7%3');
  });

  it('inverts memberName for any IPv4 or IPv6 address and port', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 1, max: 65_535 }), (address, port) => {
        let name: string;
        try {
          name = memberName(address, port);
        } catch {
          return fc.pre(false); // names BIG-IP would not take (`::.1`) never reach a device
        }
        return memberAddress(name) === address;
      }),
    );
  });
});

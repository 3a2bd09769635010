import { describe, expect, it } from 'vitest';
import type { RejectionCategory } from '../../../functions/domain/errors.js';
import { faultForRejection, faults, OctaviaFault } from '../../../functions/domain/octavia-faults.js';

// Octavia's error body is {faultcode, faultstring, debuginfo}: "Client" for 4xx, "Server" for 5xx.
describe('Octavia faults', () => {
  it('carry Octavia’s body: Client for 4xx, Server for 5xx, the message as faultstring', () => {
    expect(new OctaviaFault(404, 'gone').body()).toEqual({
      faultcode: 'Client',
      faultstring: 'gone',
      debuginfo: null,
    });
    expect(new OctaviaFault(503, 'busy').body()).toEqual({
      faultcode: 'Server',
      faultstring: 'busy',
      debuginfo: null,
    });
    expect(faults.invalidInput('weight', 300, 'must be at most 256')).toMatchObject({
      status: 400,
      message: "Invalid input for field/attribute weight. Value: '300'. must be at most 256",
    });
    expect(faults.unknownAttribute('pool_.pool', 'colour')).toMatchObject({
      status: 400,
      message: 'Unknown attribute for argument pool_.pool: colour',
    });
    expect(faults.notImplemented('no')).toMatchObject({ status: 501, message: 'no' });
    expect(faults.immutable('healthmonitor', 'h1').message).toBe(
      'Health Monitor h1 is immutable and cannot be updated.',
    );
    expect(faults.notFound('l7rule', 'r1').message).toBe('L7 Rule r1 not found.');
  });

  it('answers each refusal of the record checks with the code Octavia uses for it', () => {
    const cases: [RejectionCategory, number][] = [
      // A malformed request or a change of what cannot change: the client's request is bad.
      ['invalid-message', 400],
      ['immutable-field', 400],
      // Another project's or environment's object is not shown to exist, as Octavia's 404.
      ['tenant-mismatch', 404],
      ['environment-mismatch', 404],
      ['not-found', 404],
      // In the way of another object, or the environment is full: a conflict an operator resolves.
      ['conflict', 409],
      ['group-at-capacity', 409],
      ['environment-at-capacity', 409],
      // Not implemented by this provider: Octavia's ProviderUnsupportedOptionError.
      ['unsupported', 501],
    ];
    for (const [category, status] of cases) {
      const fault = faultForRejection(category, `why ${category}`);
      expect(fault.status, category).toBe(status);
      expect(fault.message).toContain(`why ${category}`);
    }
    expect(faultForRejection('unsupported', 'UDP').message).toBe(
      "Provider 'bigip' does not support a requested option: UDP",
    );
  });
});

import { describe, expect, it } from 'vitest';
import type { BigIpObject } from '../../../functions/domain/bigip-objects.js';
import { translate } from '../../../functions/domain/bigip-translation.js';
import { isNetmask } from '../../../functions/domain/persistence-profiles.js';
import { TreeBuilder } from '../../support/trees.js';

const env = 'Project';
const of = (objects: Map<string, BigIpObject>, kind: string) =>
  [...objects.values()].filter((o) => o.kind === kind);

describe('UDP pools’ tuned SOURCE_IP persistence', () => {
  it('knows a netmask: contiguous one-bits, IPv4 dotted or IPv6', () => {
    for (const m of [
      '255.255.255.255',
      '255.255.255.0',
      '255.128.0.0',
      '0.0.0.0',
      'ffff:ffff::',
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      '::',
    ])
      expect(isNetmask(m), m).toBe(true);
    for (const m of [
      '255.0.255.0',
      '255.255.255.256',
      '10.0.0.1',
      '0.255.255.255',
      'ffff::ffff',
      '1::',
      'fff0:ffff::',
      'x',
      '',
      '255.255.255',
      ':::',
    ])
      expect(isNetmask(m), m).toBe(false);
  });

  it('gives a tuned pool its own profile (timeout and mask), named by the virtual; an untuned one keeps /Common/source_addr', () => {
    const b = new TreeBuilder();
    const tuned = b.pool({
      protocol: 'UDP',
      session_persistence: {
        type: 'SOURCE_IP',
        persistence_timeout: 30,
        persistence_granularity: '255.255.255.0',
      },
    });
    const plain = b.pool({ protocol: 'UDP', session_persistence: { type: 'SOURCE_IP' } });
    const maskOnly = b.pool({
      protocol: 'UDP',
      session_persistence: { type: 'SOURCE_IP', persistence_granularity: 'ffff:ffff:ffff:ffff::' },
    });
    b.listener({ protocol: 'UDP', protocol_port: 53, default_pool_id: tuned.id });
    b.listener({ protocol: 'UDP', protocol_port: 54, default_pool_id: plain.id });
    const t = translate(b.tree(), { env });
    const byName = (x: BigIpObject, y: BigIpObject) =>
      x.name === y.name ? 0 : x.name === `Project_${tuned.id}_source_addr` ? -1 : 1;
    const profiles = of(t.present, 'persistence-source-addr').sort(byName);
    expect(profiles).toEqual([
      {
        kind: 'persistence-source-addr',
        partition: t.partition,
        name: `Project_${tuned.id}_source_addr`,
        attrs: { defaultsFrom: '/Common/source_addr', timeout: '30', mask: '255.255.255.0' },
      },
      {
        kind: 'persistence-source-addr',
        partition: t.partition,
        name: `Project_${maskOnly.id}_source_addr`,
        // The built-in profile's timeout (bigip-rest.md A.3), so a device's read-back matches.
        attrs: { defaultsFrom: '/Common/source_addr', timeout: '180', mask: 'ffff:ffff:ffff:ffff::' },
      },
    ]);
    expect(of(t.absent, 'persistence-source-addr').map((o) => o.name)).toEqual([
      `Project_${plain.id}_source_addr`,
    ]);
    const persist = of(t.present, 'virtual').map((v) => v.attrs.persist);
    expect(persist.map((p) => JSON.stringify(p)).sort()).toEqual(
      [
        JSON.stringify([`/${t.partition}/Project_${tuned.id}_source_addr`]),
        JSON.stringify(['/Common/source_addr']),
      ].sort(),
    );

    b.status(tuned, 'PENDING_DELETE');
    const gone = translate(b.tree(), { env });
    expect(of(gone.absent, 'persistence-source-addr').map((o) => o.name)).toContain(
      `Project_${tuned.id}_source_addr`,
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { urlId } from '../../../functions/domain/bigip-names.js';
import { translate } from '../../../functions/domain/bigip-translation.js';
import { UnsafeBigIpNameError } from '../../../functions/domain/errors.js';
import { parseRequest } from '../../../functions/domain/lbaas-request.js';
import { buildTree, type ResourceRecord } from '../../../functions/domain/resource-state.js';
import { lbIds, requests, uuid } from '../../support/factories.js';

// Pieces attackers and broken producers send: traversal, BIG-IP path syntax, escapes, quotes,
// control characters, markup, unicode, and sheer size.
const hostilePiece = fc.constantFrom(
  '../',
  '..',
  '~',
  '~Common~',
  '%',
  '%25',
  '%2F',
  '/',
  '\\',
  '"',
  "'",
  '\u0000',
  '\r\n',
  '<script>',
  '>',
  '$(reboot)',
  '`id`',
  ' ',
  'é',
  '😀',
  '\u202e',
  '?x=1',
  '#frag',
  'A'.repeat(300),
);
const hostileString = fc
  .array(fc.oneof(hostilePiece, fc.string({ maxLength: 8 })), { minLength: 1, maxLength: 6 })
  .map((p) => p.join(''));
const anyValue = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.object({ maxDepth: 2 }),
);

const FIELDS = [
  ['requestId'],
  ['tenantId'],
  ['loadbalancerId'],
  ['operation'],
  ['resource'],
  ['object', 'id'],
  ['object', 'name'],
  ['object', 'description'],
  ['object', 'address'],
  ['object', 'protocol_port'],
  ['object', 'pool_id'],
  ['object', 'weight'],
  ['object', 'url_path'],
  ['object', 'expected_codes'],
  ['object', 'http_method'],
  ['object', 'session_persistence'],
  ['object', 'tenant_id'],
] as const;

const validMessages = () => {
  const ids = lbIds();
  const pool = uuid();
  return [
    requests.createLoadbalancer(ids),
    requests.createListener(ids),
    requests.createPool(ids, { session_persistence: { type: 'APP_COOKIE', cookie_name: 'SID' } }),
    requests.createMember(ids, pool),
    requests.createHealthMonitor(ids, pool),
    requests.update('member', ids, { id: uuid(), weight: 2 }),
    requests.delete('pool', ids, pool),
  ];
};

/** Every BIG-IP URL id an accepted request can lead to is one safe path segment. */
function assertSafeOnDevice(request: Extract<ReturnType<typeof parseRequest>, { ok: true }>['request']) {
  const base = {
    loadbalancerId: request.loadbalancerId,
    tenantId: request.tenantId,
    env: 'Fuzz',
    provisioningStatus: 'PENDING_CREATE',
    operatingStatus: 'OFFLINE',
    revision: 1,
    requestId: request.requestId,
    createdAt: 1,
    updatedAt: 1,
  };
  const records = [
    {
      ...base,
      type: 'loadbalancer',
      id: request.loadbalancerId,
      desired: {
        id: request.loadbalancerId,
        name: '',
        description: '',
        vip_address: '10.0.0.1',
        admin_state_up: true,
      },
    },
  ] as ResourceRecord[];
  if (request.operation === 'create' && request.resource !== 'loadbalancer') {
    records.push({
      ...base,
      type: request.resource,
      id: request.object.id,
      desired: request.object,
    } as ResourceRecord);
  }
  const tree = buildTree(records);
  if (!tree) throw new Error('no tree');
  const t = translate(tree, { env: 'Fuzz' });
  for (const o of [...t.present.values(), ...t.absent.values()]) {
    const id = urlId(o.partition, o.name);
    const url = new URL(`https://device/mgmt/tm/ltm/pool/${id}`);
    expect(url.pathname).toBe(`/mgmt/tm/ltm/pool/${id}`);
    expect(id).not.toMatch(/[/?#\s\\"'<>]|\.\./);
  }
}

describe('hostile input (fuzz)', () => {
  it('never throws on arbitrary text, and explains every rejection', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.json(), hostileString), (body) => {
        const result = parseRequest(body);
        if (!result.ok) expect(result.reason.length).toBeGreaterThan(5);
      }),
      { numRuns: 3000 },
    );
  });

  it('rejects or safely accepts a valid message with any field replaced by hostile content', () => {
    fc.assert(
      fc.property(fc.nat(6), fc.constantFrom(...FIELDS), anyValue, (which, path, value) => {
        const message = structuredClone(validMessages()[which]) as Record<string, unknown>;
        let target = message;
        for (const key of path.slice(0, -1)) {
          target[key] ??= {};
          target = target[key] as Record<string, unknown>;
        }
        target[path[path.length - 1] as string] = value;
        const result = parseRequest(JSON.stringify(message));
        if (!result.ok) {
          expect(result.reason).toMatch(/\S/);
          // The rejection context never echoes an invalid identifier.
          for (const v of Object.values(result.context)) expect(String(v)).not.toMatch(/[~/%<>\s"'\\]/);
          return;
        }
        assertSafeOnDevice(result.request);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses tenant and load balancer mismatches inside the object', () => {
    fc.assert(
      fc.property(fc.constantFrom('tenant_id', 'project_id', 'loadbalancer_id'), (field) => {
        const message = requests.createListener(lbIds(), {
          [field]: field === 'loadbalancer_id' ? uuid() : lbIds().tenantId,
        });
        const result = parseRequest(JSON.stringify(message));
        expect(result.ok).toBe(false);
      }),
    );
  });

  it('keeps every BIG-IP URL id one escaped path segment, or refuses the name', () => {
    fc.assert(
      fc.property(hostileString, hostileString, (p, n) => {
        try {
          const id = urlId(p, n);
          expect(decodeURIComponent(id)).toBe(`~${p}~${n}`);
          expect(id).not.toMatch(/[/?#\s\\]/);
        } catch (error) {
          expect(error).toBeInstanceOf(UnsafeBigIpNameError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

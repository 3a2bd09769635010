import { describe, expect, it } from 'vitest';
import type { BigIpCommand, BigIpObject } from '../../../functions/domain/bigip-objects.js';
import {
  nodeConflictIn,
  nodeConflictReason,
  reuseTenantNode,
} from '../../../functions/domain/node-conflicts.js';

const P = 'Project_1bcf';
const member = (address: string, nodePartition = 'Common'): BigIpObject => ({
  kind: 'member',
  partition: P,
  pool: 'Project_pool',
  nodePartition,
  name: `${address}:80`,
  attrs: { address, ratio: 1, session: 'user-enabled', description: '' },
});
const refusal = (existing: string) =>
  `transaction failed:0107003a:3: Pool member node (/Common/10.0.3.110) and existing node (${existing}) cannot use the same IP Address.`;

describe('a member refused because another partition has a node of its address', () => {
  it('reads the recorded refusal (with or without the address after it), and nothing else', () => {
    expect(nodeConflictIn(refusal(`/${P}/10.0.3.110`))).toMatchObject({
      wanted: '/Common/10.0.3.110',
      address: '10.0.3.110',
      existing: `/${P}/10.0.3.110`,
      existingPartition: P,
    });
    expect(
      nodeConflictIn(
        '0107003a:3: Pool member node (/Common/192.168.1.241) and existing node (/Common/nd_192-168-1-241) cannot use the same IP Address (192.168.1.241).',
      ),
    ).toMatchObject({
      address: '192.168.1.241',
      existing: '/Common/nd_192-168-1-241',
      existingPartition: 'Common',
    });
    expect(nodeConflictIn('01070712:3: Values (/P/x) specified for pool member')).toBeUndefined();
  });

  it('moves every member of that address into the tenant partition when the node there is named by it, once', () => {
    const commands: BigIpCommand[] = [
      { op: 'create', object: member('10.0.3.110') },
      { op: 'create', object: member('10.0.3.111') },
      {
        op: 'replace-members',
        object: { kind: 'pool', partition: P, name: 'Project_other', attrs: {} },
        members: [member('10.0.3.110'), member('10.0.3.112')],
      },
    ];
    const conflict = nodeConflictIn(refusal(`/${P}/10.0.3.110`));
    const again = reuseTenantNode(commands, conflict as NonNullable<typeof conflict>, P);
    expect(
      again?.flatMap((c) =>
        c.op === 'replace-members' ? c.members.map((m) => m.nodePartition) : [c.object.nodePartition],
      ),
    ).toEqual([P, 'Common', P, 'Common']);
    // Sent again, nothing is left to move: no retry of a retry.
    expect(reuseTenantNode(again ?? [], conflict as NonNullable<typeof conflict>, P)).toBeUndefined();
  });

  it('does not reuse a node of another partition, nor one named otherwise, and says why in words to act on', () => {
    const commands: BigIpCommand[] = [{ op: 'create', object: member('10.0.3.110') }];
    for (const existing of ['/Project_other/10.0.3.110', `/${P}/nd_10-0-3-110`, '/Common/nd_10-0-3-110']) {
      const conflict = nodeConflictIn(refusal(existing)) as NonNullable<ReturnType<typeof nodeConflictIn>>;
      expect(reuseTenantNode(commands, conflict, P)).toBeUndefined();
    }
    const other = nodeConflictIn(refusal('/Project_other/10.0.3.110')) as NonNullable<
      ReturnType<typeof nodeConflictIn>
    >;
    expect(nodeConflictReason(other)).toMatch(
      /^member address 10\.0\.3\.110: node \/Project_other\/10\.0\.3\.110 of partition Project_other has the address 10\.0\.3\.110, .*Remove or move that node.*\(device: transaction failed:0107003a/,
    );
  });
});

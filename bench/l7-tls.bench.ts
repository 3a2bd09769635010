/**
 * L7 and TLS benchmark: iControl REST calls (and time) for what issue #15 names, through the real
 * agent code against the BIG-IP simulator (DynamoDB Local for state), under the device timing model
 * of docs/reference/device-facts.md §6 and under 0 ms:
 * - an L7 policy with three rules, sent as four requests (Octavia's API) and as one change (the
 *   four recorded before the agent takes them, as a busy queue hands them over);
 * - one rule added to that policy;
 * - a TERMINATED_HTTPS listener with a default and two SNI certificates;
 * - a rotation of one of those certificates (the secret changed, the listener updated).
 * Prints a table and, as its last line, a JSON object. Never fails on time.
 *
 *   npm run bench:l7
 *   npm run bench:l7 -- --timing real
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCertificates } from '../functions/adapters/certificate-stores.js';
import { parseRequest } from '../functions/domain/lbaas-request.js';
import { checkAgainstRecords, needsRecordChecks } from '../functions/domain/request-checks.js';
import { type ApplyTarget, applyTargetOf } from '../functions/services/load-balancer-applier.js';
import { BigIpSimulator } from '../local/bigip-simulator/bigip-simulator.js';
import {
  callCost,
  describeTiming,
  TIMING_MODELS,
  type TimingModel,
} from '../local/bigip-simulator/timing-model.js';
import { benchAgent } from './support/bench-agent.js';
import { startBenchServices } from './support/local-services.js';
import { machine, printTable, writeResult } from './support/stats.js';
import { chosenTimings } from './support/timing-args.js';

const chosen = chosenTimings();
const ENV = 'Bench';
const services = await startBenchServices();
const fixture = (f: string) =>
  readFileSync(join(import.meta.dirname, '..', 'test', 'fixtures', 'tls', f), 'utf8');

interface Row {
  scenario: string;
  requests: number;
  calls: number;
  reads: number;
  writes: number;
  ms: number;
  /** The device's own serial time for the writes made (write slot, commit, under the model). */
  deviceMs: number;
}

async function run(timing: TimingModel): Promise<Row[]> {
  const sim = new BigIpSimulator({ timing });
  const baseUrl = await sim.listen();
  const certificates = new FileCertificates(mkdtempSync(join(tmpdir(), 'lbaas-bench-certs-')));
  const { applier, resources, cluster } = await benchAgent(services, {
    env: ENV,
    baseUrl,
    tablePrefix: 'l7',
    overrides: { certificates },
  });
  const tenantId = randomUUID().replaceAll('-', '');
  const lb = randomUUID();
  // What the scheduler does before the agent: checks, then the record.
  const record = async (body: Record<string, unknown>): Promise<ApplyTarget> => {
    const parsed = parseRequest(
      JSON.stringify({ version: 1, requestId: randomUUID(), tenantId, loadbalancerId: lb, ...body }),
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    let r = parsed.request;
    if (needsRecordChecks(r)) {
      const checked = checkAgainstRecords(r, await resources.loadRecords(lb));
      if ('refusal' in checked) throw new Error(checked.refusal.reason);
      r = checked.request;
    }
    const recorded = await resources.recordRequest(r, ENV, Date.now());
    if (!recorded.recorded) throw new Error(`request not recorded: ${JSON.stringify(recorded)}`);
    return applyTargetOf(r);
  };
  const measure = async (scenario: string, groups: ApplyTarget[][]): Promise<Row> => {
    const before = sim.calls.length;
    const started = performance.now();
    for (const group of groups) {
      const [result] = await applier.applyAll([group]);
      if (result?.status !== 'fulfilled' || result.value.outcome !== 'applied')
        throw new Error(`${scenario}: ${JSON.stringify(result)}`);
    }
    const ms = performance.now() - started;
    const calls = sim.calls.slice(before).filter((c) => !c.path.includes('/authn/'));
    const deviceMs = calls
      .filter((c) => c.method !== 'GET')
      .map((c) => {
        const commit = /^\/mgmt\/tm\/transaction\/\d+$/.test(c.path) && c.method === 'PATCH';
        const commands = commit
          ? calls.filter((x) => x.transactionId === c.path.split('/').pop()).length
          : undefined;
        return callCost(timing, {
          method: c.method,
          path: c.path,
          enlisted: c.transactionId !== undefined,
          commitCommands: commands,
        });
      })
      .filter((cost) => cost.serial)
      .reduce((sum, cost) => sum + cost.ms, 0);
    return {
      scenario,
      requests: groups.flat().length,
      calls: calls.length,
      reads: calls.filter((c) => c.method === 'GET').length,
      writes: calls.filter((c) => c.method !== 'GET').length,
      ms: Math.round(ms),
      deviceMs,
    };
  };
  const create = (resource: string, object: Record<string, unknown>) =>
    record({ operation: 'create', resource, object: { id: randomUUID(), ...object } });
  const idOf = (t: ApplyTarget) => t.objectId;

  const rows: Row[] = [];
  try {
    const setup = [
      await create('loadbalancer', { id: lb, vip_address: '10.0.0.10' }),
      await create('pool', { protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' }),
      await create('pool', { protocol: 'HTTP', lb_algorithm: 'ROUND_ROBIN' }),
    ];
    const web = idOf(setup[1] as ApplyTarget);
    const api = idOf(setup[2] as ApplyTarget);
    setup.push(await create('listener', { protocol: 'HTTP', protocol_port: 80, default_pool_id: web }));
    await measure(
      'setup',
      setup.map((t) => [t]),
    );
    const listener = idOf(setup[3] as ApplyTarget);

    // Each request recorded and applied before the next is sent (a client waiting for ACTIVE), or
    // all four recorded first and applied as one change (what a worker holding them does).
    const policy = async (each: (t: ApplyTarget) => Promise<unknown>) => {
      const p = await create('l7policy', {
        listener_id: listener,
        action: 'REDIRECT_TO_POOL',
        redirect_pool_id: api,
      });
      await each(p);
      const targets = [p];
      for (const rule of [
        { type: 'HOST_NAME', compare_type: 'EQUAL_TO', value: 'api.example.com' },
        { type: 'PATH', compare_type: 'STARTS_WITH', value: '/v2' },
        { type: 'HEADER', key: 'X-Tier', compare_type: 'EQUAL_TO', value: 'gold' },
      ]) {
        const r = await create('l7rule', { l7policy_id: p.objectId, ...rule });
        await each(r);
        targets.push(r);
      }
      return targets;
    };
    const single: Row[] = [];
    const first = await policy(async (t) => single.push(await measure('one', [[t]])));
    const total: Row = {
      scenario: 'policy + 3 rules, 4 requests one by one',
      requests: 4,
      calls: 0,
      reads: 0,
      writes: 0,
      ms: 0,
      deviceMs: 0,
    };
    for (const r of single) {
      total.calls += r.calls;
      total.reads += r.reads;
      total.writes += r.writes;
      total.ms += r.ms;
      total.deviceMs += r.deviceMs;
    }
    rows.push(total);
    rows.push(
      await measure('policy + 3 rules, 4 requests as one change', [await policy(async () => undefined)]),
    );
    rows.push(
      await measure('a rule added to a policy', [
        [
          await create('l7rule', {
            l7policy_id: first[0]?.objectId,
            type: 'COOKIE',
            key: 'beta',
            compare_type: 'EQUAL_TO',
            value: 'yes',
          }),
        ],
      ]),
    );

    const ref = (site: string) => `lbaas/${ENV}/${tenantId}/${site}`;
    for (const site of ['www', 'a', 'b'])
      await certificates.put(ref(site), {
        certificate: fixture(`${site}.example.com.pem`),
        private_key: fixture(`${site}.example.com.key`),
        intermediates: fixture('sites-ca.pem'),
      });
    const tlsListener = await create('listener', {
      protocol: 'TERMINATED_HTTPS',
      protocol_port: 443,
      default_pool_id: web,
      default_tls_container_ref: ref('www'),
      sni_container_refs: [ref('a'), ref('b')],
    });
    rows.push(await measure('TLS listener, default + 2 SNI certificates', [[tlsListener]]));
    await certificates.put(ref('a'), {
      certificate: fixture('a.example.com.pem'),
      private_key: fixture('a.example.com.enc.key'),
      passphrase: 'test-passphrase',
      intermediates: fixture('sites-ca.pem'),
    });
    rows.push(
      await measure('certificate rotation (one SNI certificate)', [
        [
          await record({
            operation: 'update',
            resource: 'listener',
            object: { id: tlsListener.objectId, name: 'rotated' },
          }),
        ],
      ]),
    );
    return rows;
  } finally {
    await cluster.close();
    await sim.close();
  }
}

const results: Record<string, Row[]> = {};
for (const name of chosen) {
  const model = TIMING_MODELS[name];
  console.log(`\n## ${name} timing: ${describeTiming(model)}`);
  results[name] = await run(model);
  printTable(results[name].map((r) => ({ ...r })));
}
const summary = { machine: machine(), results };
if (chosen.length === 2) console.error(`written to ${writeResult('l7-tls', summary)}`);
await services.stop();
console.log(JSON.stringify(summary));

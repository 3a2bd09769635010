import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach } from 'vitest';
import { FileCertificates } from '../../functions/adapters/certificate-stores.js';
import { StaticCredentials } from '../../functions/adapters/device-credentials.js';
import type { ResourceType } from '../../functions/domain/lbaas-request.js';
import type { AgentConfig } from '../../functions/shared/config.js';
import { wireAgentWorker } from '../../functions/wiring/agent-worker-wiring.js';
import { type HealthPollerOverrides, wireHealthPoller } from '../../functions/wiring/health-poller-wiring.js';
import { wireReclaimer } from '../../functions/wiring/reclaimer-wiring.js';
import { type ReconcilerOverrides, wireReconciler } from '../../functions/wiring/reconciler-wiring.js';
import { BigIpPair } from '../../local/bigip-simulator/bigip-pair.js';
import { BigIpSimulator, type SimulatorOptions } from '../../local/bigip-simulator/bigip-simulator.js';
import { EventSourcePoller } from '../../local/event-source-poller.js';
import { type HarnessOptions, schedulerHarness } from './scheduler-harness.js';

export interface SystemOptions extends HarnessOptions {
  /** An HA pair instead of one device. */
  pair?: boolean;
  deviceGroup?: string;
  leaseWaitMs?: number;
  /** How the simulated device(s) behave (version, missing-partition answers, sync delay). */
  sim?: SimulatorOptions;
  /** Per-call timeout of the agents' REST clients (default 3 s). */
  restTimeoutMs?: number;
  /** The agents' function timeout, as their event source reports it (default 30 s). */
  workerTimeoutMs?: number;
}

/**
 * The whole pipeline on loopback: request queue → scheduler → agent queues → agent workers →
 * simulated BIG-IP(s), with statuses in DynamoDB Local. `settle()` drives the event-source
 * pollers until every queue is empty.
 */
export async function systemHarness(options: SystemOptions = {}) {
  const h = await schedulerHarness(options);
  const pair = options.pair ? BigIpPair.create(options.sim) : undefined;
  const single = pair ? undefined : new BigIpSimulator(options.sim);
  const urls = pair ? await pair.listen() : [await (single as BigIpSimulator).listen()];
  const devices = urls.map((baseUrl, i) => ({ name: pair ? `bigip-${'ab'[i]}` : 'bigip1', baseUrl }));

  // The stand-in of Secrets Manager the agents and the reconciler read certificates from.
  const certificates = new FileCertificates(mkdtempSync(join(tmpdir(), 'lbaas-harness-certs-')));
  // How every function of the environment (agents, status poller, reconciler) reaches the devices.
  const access = {
    env: h.env,
    tables: h.tables,
    devices,
    deviceSecretId: 'unused-locally',
    caBundle: undefined,
    deviceGroup: options.deviceGroup,
    trafficGroup: undefined,
    clusterName: 'cluster1',
    restTimeoutMs: options.restTimeoutMs ?? 3_000,
    ...(options.networks ? { networks: options.networks } : {}),
  };
  // Worker invocations that reached their timeout (Lambda would have stopped them there).
  let overruns = 0;
  const agents = Object.entries(h.agentQueues).map(([host, queue]) => {
    const config: AgentConfig = {
      ...access,
      host,
      agentQueueUrl: queue.url,
      maxAttempts: options.maxAttempts ?? 3,
      retry: { baseSeconds: 1, maxSeconds: 1 },
      leaseMs: 30_000,
      inFlightHoldMs: 30_000,
    };
    const { deps, handler, cluster, calls } = wireAgentWorker(config, h.clients, {
      credentials: new StaticCredentials({ username: 'admin', password: 'admin' }),
      certificates,
      retryBaseMs: 10,
      syncPollMs: 50,
      leaseWaitMs: options.leaseWaitMs ?? 5_000,
    });
    const poller = new EventSourcePoller({
      sqs: h.clients.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      handler,
      functionName: `agent-${host}`,
      ...(options.workerTimeoutMs === undefined ? {} : { timeoutMs: options.workerTimeoutMs }),
      onOverrun: () => {
        overruns += 1;
      },
    });
    return { host, config, cluster, deps, handler, poller, calls };
  });
  const scheduler = new EventSourcePoller({
    sqs: h.clients.sqs,
    queueUrl: h.requestQueue.url,
    queueArn: h.requestQueue.arn,
    handler: h.handler,
    functionName: 'scheduler',
  });

  const pollers: { close(): Promise<void> }[] = [];
  // A stopped agent neither beats nor polls: its queue holds whatever was forwarded to it.
  const stopped = new Set<string>();
  const depth = async () => {
    let total = 0;
    const queueUrls = [
      h.requestQueue.url,
      ...Object.entries(h.agentQueues)
        .filter(([host]) => !stopped.has(host))
        .map(([, q]) => q.url),
    ];
    for (const url of queueUrls) {
      const out = await h.clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      total += Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
      total += Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
    return total;
  };

  return {
    ...h,
    sim: (single ?? pair?.active) as BigIpSimulator,
    certificates,
    pair,
    agents,
    agent: (host: string) => agents.find((a) => a.host === host) as (typeof agents)[number],
    /** Worker invocations that reached their function timeout. */
    get overruns() {
      return overruns;
    },
    /** One object applied again by its load balancer's agent, as a redelivered update would be. */
    async applyAgain(
      ids: { tenantId: string; loadbalancerId: string },
      resource: ResourceType,
      objectId: string,
    ) {
      const host = (await h.bindings.getBinding(ids.loadbalancerId))?.host as string;
      const agent = agents.find((a) => a.host === host) as (typeof agents)[number];
      return agent.deps.applier.apply({
        requestId: randomUUID(),
        ...ids,
        resource,
        objectId,
        operation: 'update',
      });
    },
    scheduler,
    stop(host: string) {
      stopped.add(host);
    },
    start(host: string) {
      stopped.delete(host);
    },
    async agentQueueDepth(host: string) {
      const out = await h.clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: h.agentQueues[host]?.url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    },
    /** Messages in every dead-letter queue (request queue and agents'). */
    async dlqDepth() {
      let total = 0;
      for (const q of [h.requestQueue, ...Object.values(h.agentQueues)]) {
        const out = await h.clients.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: q.dlqUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        total += Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
        total += Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
      }
      return total;
    },
    /** One sweep of the environment's reclaimer (moves requests stranded on dead agents). */
    reclaim: () =>
      wireReclaimer(
        {
          env: h.env,
          tables: h.tables,
          agentDownTimeMs: h.config.agentDownTimeMs,
          intervalMs: 1_000,
          sweepsPerInvocation: 1,
          agentQueues: Object.fromEntries(Object.entries(h.agentQueues).map(([host, q]) => [host, q.url])),
        },
        h.clients,
        { clock: h.clock },
      ).reclaimer.sweep(),
    /** The environment's status poller on the same devices and tables (its own clients, like in AWS). */
    healthPoller(overrides: HealthPollerOverrides = {}) {
      const graph = wireHealthPoller(
        {
          ...access,
          agentDownTimeMs: 75_000,
          intervalMs: 30_000,
          pollsPerInvocation: 1,
        },
        h.clients,
        {
          credentials: new StaticCredentials({ username: 'admin', password: 'admin' }),
          retryBaseMs: 10,
          clock: h.clock,
          ...overrides,
        },
      );
      pollers.push(graph.cluster);
      return graph;
    },
    /** The environment's reconciler on the same devices and tables (its own clients, like in AWS). */
    reconciler(overrides: ReconcilerOverrides = {}) {
      const graph = wireReconciler(
        {
          ...access,
          drift: 'repair',
          orphans: 'report',
          leaseMs: 30_000,
        },
        h.clients,
        {
          credentials: new StaticCredentials({ username: 'admin', password: 'admin' }),
          certificates,
          retryBaseMs: 10,
          syncPollMs: 50,
          leaseWaitMs: 1_000,
          ...overrides,
        },
      );
      pollers.push(graph.cluster);
      return graph;
    },
    /** Listener totals the poller kept for a load balancer. */
    healthStats(loadbalancerId: string) {
      // The poller's own store (its graph's device clients are never used for this).
      return this.healthPoller().health.loadStatistics(loadbalancerId);
    },
    /** Heartbeats for every running agent at the harness clock. */
    async beatRunning() {
      for (const host of Object.keys(h.agentQueues)) if (!stopped.has(host)) await h.beat(host);
    },
    async submit(...bodies: { requestId: string; loadbalancerId: string }[]) {
      for (const body of bodies) {
        await h.clients.sqs.send(
          new SendMessageCommand({
            QueueUrl: h.requestQueue.url,
            MessageBody: JSON.stringify(body),
            MessageGroupId: body.loadbalancerId,
            MessageDeduplicationId: `${(body as { tenantId?: string }).tenantId ?? ''}:${body.requestId}`,
          }),
        );
      }
    },
    /** Runs the pollers until every queue is empty (messages waiting out a back-off included). */
    async settle(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let seen = await scheduler.pollOnce(0);
        for (const a of agents) if (!stopped.has(a.host)) seen += await a.poller.pollOnce(0);
        if (seen === 0) {
          if ((await depth()) === 0) return;
          if (Date.now() > deadline) throw new Error('queues did not drain in time');
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async submitAndSettle(...bodies: { requestId: string; loadbalancerId: string }[]) {
      await this.submit(...bodies);
      await this.settle();
    },
    async close() {
      await Promise.all([...agents.map((a) => a.cluster.close()), ...pollers.map((p) => p.close())]);
      if (pair) await pair.close();
      else await single?.close();
    },
  };
}

/**
 * A factory of system harnesses for one test file, each closed after its test (random agent
 * choice fixed unless a test says otherwise).
 */
export function systemsClosedAfterEach() {
  const systems: Awaited<ReturnType<typeof systemHarness>>[] = [];
  afterEach(async () => {
    for (const s of systems.splice(0)) await s.close();
  });
  return async (options: SystemOptions = {}) => {
    const s = await systemHarness({ random: () => 0, ...options });
    systems.push(s);
    return s;
  };
}

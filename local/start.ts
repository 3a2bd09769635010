/**
 * `npm start`: the whole system on this machine, on embedded defaults (lbaas.config.json's first
 * environment, its devices replaced by a simulated BIG-IP HA pair), with the live dashboard.
 *
 *   npm start                                  # real timings (heartbeat 30 s, agentDownTime 75 s)
 *   npm start -- --time-scale 10               # 10× faster liveness, to watch failover quickly
 *   npm start -- --timing real                 # devices that take as long as real ones (device-facts.md §6)
 *   npm start -- --env Project --port 8787 --verbose
 *   npm start -- --config local/two-groups.config.json   # two device groups (HA pairs), capacity limits
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: 'lbaas.config.json' },
    env: { type: 'string' },
    'time-scale': { type: 'string', default: '1' },
    timing: { type: 'string', default: 'zero' },
    port: { type: 'string', default: '8787' },
    'api-port': { type: 'string', default: '9876' },
    auth: { type: 'string', default: 'noauth' },
    'keystone-url': { type: 'string' },
    project: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'usage: npm start -- [--config lbaas.config.json] [--env PREFIX] [--time-scale N] [--timing zero|real] [--port 8787]\n' +
      '                    [--api-port 9876] [--auth noauth|keystone] [--keystone-url URL] [--project ID] [--verbose]\n' +
      "  --auth keystone validates X-Auth-Token against --keystone-url (else the environment's api.keystoneUrl)\n" +
      '  with the service account in OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME (and OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME).',
  );
  process.exit(0);
}

// The handlers log through Powertools; keep the terminal readable unless asked.
process.env.POWERTOOLS_LOG_LEVEL ??= values.verbose ? 'INFO' : 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const { TIMING_MODELS } = await import('./bigip-simulator/timing-model.js');
const timing = Object.hasOwn(TIMING_MODELS, values.timing)
  ? TIMING_MODELS[values.timing as keyof typeof TIMING_MODELS]
  : undefined;
if (!timing) {
  console.error(`--timing must be one of ${Object.keys(TIMING_MODELS).join(', ')}`);
  process.exit(2);
}
const { startLocalStack, DEFAULT_LOCAL_PROJECT } = await import('./local-stack.js');
const { loadConfig } = await import('../lib/config/lbaas-config.js');
if (values.auth !== 'noauth' && values.auth !== 'keystone') {
  console.error('--auth must be noauth or keystone');
  process.exit(2);
}
let auth:
  | { mode: 'noauth'; defaultProject: string }
  | {
      mode: 'keystone';
      url: string;
      credentials: {
        username: string;
        password: string;
        projectName: string;
        userDomainName?: string;
        projectDomainName?: string;
      };
    } = {
  mode: 'noauth',
  defaultProject: values.project ?? DEFAULT_LOCAL_PROJECT,
};
if (values.auth === 'keystone') {
  const config = loadConfig(values.config);
  const environment = values.env
    ? config.environments.find((e) => e.prefix === values.env)
    : config.environments[0];
  const url = values['keystone-url'] ?? environment?.api?.keystoneUrl;
  const { OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME, OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME } =
    process.env;
  if (!url || !OS_USERNAME || !OS_PASSWORD || !OS_PROJECT_NAME) {
    console.error(
      '--auth keystone needs --keystone-url (or api.keystoneUrl) and OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME',
    );
    process.exit(2);
  }
  auth = {
    mode: 'keystone',
    url,
    credentials: {
      username: OS_USERNAME,
      password: OS_PASSWORD,
      projectName: OS_PROJECT_NAME,
      ...(OS_USER_DOMAIN_NAME ? { userDomainName: OS_USER_DOMAIN_NAME } : {}),
      ...(OS_PROJECT_DOMAIN_NAME ? { projectDomainName: OS_PROJECT_DOMAIN_NAME } : {}),
    },
  };
}
const { startDashboard } = await import('./dashboard/dashboard-server.js');

const started = Date.now();
console.log('Starting bigip-lbaas locally (DynamoDB Local, fauxqs SQS, simulated BIG-IPs)…');
const stack = await startLocalStack({
  configPath: values.config,
  ...(values.env ? { environment: values.env } : {}),
  timeScale: Number(values['time-scale']),
  timing,
  reconcileIntervalMs: 60_000,
  api: { port: Number(values['api-port']), auth },
  // A refusal is final and its sender may not be watching: the log says it, with the reason.
  onRefused: (r) =>
    console.log(
      `${new Date(r.refusedAt).toISOString()} refused ${r.operation ?? ''} ${r.resource ?? ''} ${r.objectId ?? ''} (request ${r.requestId}, project ${r.tenantId}): ${r.reason}`.replace(
        / {2,}/g,
        ' ',
      ),
    ),
});
const dashboard = await startDashboard(stack, Number(values.port));

console.log(`
bigip-lbaas is running (${((Date.now() - started) / 1000).toFixed(1)} s to start). What runs where:

  dashboard        ${dashboard.url}
  Octavia v2 API   ${stack.api?.url}   (${stack.api?.auth === 'keystone' ? 'Keystone tokens' : `noauth, project ${auth.mode === 'noauth' ? auth.defaultProject : ''}`})
  DynamoDB Local   ${stack.endpoints.dynamodb}   tables ${Object.values(stack.tables).join(', ')}
  SQS (fauxqs)     ${stack.endpoints.sqs}   queue ${stack.requestQueue.url.split('/').pop()}
  BIG-IP devices   ${stack.endpoints.devices.map((d) => `${d.name} ${d.url}`).join('   ')}
  environment      ${stack.env}: scheduler ×4, agents ${stack.agents.map((a) => a.host).join(', ')}
  device groups    ${stack.groups.map((g) => `${g.name} (${g.endpoints.map((d) => d.name).join(' + ')}; agents ${g.hosts.join(', ')})`).join('   ')}
                   heartbeat every ${stack.heartbeatIntervalMs / 1000} s, agentDownTime ${stack.agentDownTimeMs / 1000} s

Try it, in another terminal (the CLI finds this stack through .local/stack.json):

  P=3f2a9c0d7e6b4d1a8c5e9f0a1b2c3d4e
  npx lbaas loadbalancer create --project $P --vip-address 10.0.0.10 --name web --wait
  npx lbaas listener create --protocol HTTP --protocol-port 80 --name http web --wait
  npx lbaas pool create --lb-algorithm ROUND_ROBIN --protocol HTTP --listener http --name pool1 --wait
  npx lbaas member create --address 10.0.1.5 --protocol-port 8080 pool1 --wait
  npx lbaas status web
  npx lbaas agents
  npx lbaas groups                    # device groups: capacity score, usage against limits, agents alive
  npx lbaas sync --dry-run            # the devices against the desired state (the reconciler, each minute here)

Or the OpenStack way (Debian: apt-get install python3-openstackclient python3-octaviaclient):

  export OS_AUTH_TYPE=none OS_ENDPOINT=${stack.api?.url}
  openstack loadbalancer create --vip-subnet-id public-subnet --name web2 --wait
  openstack loadbalancer listener create --protocol HTTP --protocol-port 80 --name web2-http web2 --wait
  openstack loadbalancer status show web2

Or press "Create a demo load balancer" on the dashboard, then "Stop" an agent to watch failover
(${stack.agentDownTimeMs / 1000} s after its last heartbeat; start with --time-scale 10 to make that ${stack.agentDownTimeMs / 10_000} s).

The tour: README.md. The CLI, the sandbox (real traffic through 127.0.0.2) and failover:
docs/operator-guide.md. Every setting: docs/configuration.md.

Ctrl-C stops everything.
`);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping…`);
  await dashboard.close();
  await stack.stop();
  console.log('stopped cleanly');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

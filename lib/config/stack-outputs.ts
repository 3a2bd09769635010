/**
 * The names both sides of a deployment agree on: stack names, and the outputs an environment
 * stack exports for the CLI. No CDK and no SDK here, so `lib/` and `cli/` can both import it.
 */
export const OUTPUTS = {
  requestQueueUrl: 'RequestQueueUrl',
  requestDlqUrl: 'RequestDlqUrl',
  agentQueuePrefix: 'AgentQueueUrlPrefix',
  agentHosts: 'AgentHosts',
  tables: 'Tables',
  agentDownTimeSeconds: 'AgentDownTimeSeconds',
  reconcilerFunction: 'ReconcilerFunctionName',
  octaviaApiUrl: 'OctaviaApiUrl',
} as const;

export function sharedStackName(config: { name: string }): string {
  return `${config.name}-shared`;
}

export function environmentStackName(config: { name: string }, env: string): string {
  return `${config.name}-${env}`;
}

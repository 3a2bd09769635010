import { dirname, resolve } from 'node:path';
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from './config/lbaas-config.js';
import { environmentStackName, sharedStackName } from './config/stack-outputs.js';
import { muteBundlingAnnouncements, verboseSynth } from './config/synth-output.js';
import { EnvironmentStack } from './environment-stack.js';
import { SharedStack } from './shared-stack.js';

/** Builds the CDK app from a configuration file: one shared stack, one stack per environment. */
export function buildApp(app: App, configPath: string): App {
  const config = loadConfig(configPath);
  // The environment stacks import the shared tables; keep CloudFormation exports protected.
  if (app.node.tryGetContext('@aws-cdk/core:defaultCrossStackReferences') === undefined) {
    app.node.setContext('@aws-cdk/core:defaultCrossStackReferences', 'strong');
  }
  const env = {
    ...(config.account ? { account: config.account } : {}),
    ...(config.region ? { region: config.region } : {}),
  };
  const shared = new SharedStack(app, sharedStackName(config), {
    name: config.name,
    env,
    description: 'bigip-lbaas: shared tables',
  });
  for (const environment of config.environments) {
    const stack = new EnvironmentStack(app, environmentStackName(config, environment.prefix), {
      config,
      environment,
      shared,
      configDir: dirname(resolve(configPath)),
      env,
      description: `bigip-lbaas environment ${environment.prefix}`,
    });
    stack.addStackDependency(shared);
  }
  Tags.of(app).add('application', 'bigip-lbaas');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

// `cdk synth|deploy`: the configuration comes from -c config=… or lbaas.config.json.
if (process.argv[1] && resolve(process.argv[1]).endsWith('lib/app.ts')) {
  const app = new App();
  if (!verboseSynth(app)) muteBundlingAnnouncements();
  buildApp(app, String(app.node.tryGetContext('config') ?? 'lbaas.config.json'));
  app.synth();
}

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A CloudFormation template as `cdk synth` writes it (only what the bundle tests read). */
export interface Template {
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

export interface AssemblyStack {
  name: string;
  template: Template;
}

/** A Lambda function of the template and the bundle `cdk synth` built for it. */
export interface TemplateFunction {
  stack: string;
  logicalId: string;
  /** The asset directory (`cdk.out/asset.<hash>`): the function's package, LAMBDA_TASK_ROOT. */
  assetDir: string;
  /** `index.handler`: module and export, as Lambda's Node runtime reads them. */
  handler: string;
  runtime: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** The environment as the template writes it (intrinsics unresolved). */
  environment: Record<string, unknown>;
  /** The execution role (an intrinsic: `Fn::GetAtt [Role, Arn]`). */
  role: unknown;
  /** `POWERTOOLS_SERVICE_NAME`: which entry point the bundle is (scheduler, agent-worker, …). */
  service: string;
}

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Runs `cdk synth` exactly as `npm run synth` and `cdk deploy` do (the CLI runs lib/app.ts with
 * cdk.json's context; esbuild bundles each function), with another configuration and output directory.
 */
export function synthesize(configPath: string, outdir: string): void {
  const cdk = join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');
  const result = spawnSync(
    process.execPath,
    [cdk, 'synth', '--quiet', '--output', outdir, '--context', `config=${configPath}`],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CI: 'true' },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (result.status !== 0) {
    throw new Error(`cdk synth failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** Reads the stacks and the functions (with their bundles) of a synthesized cloud assembly. */
export function readAssembly(outdir: string): { stacks: AssemblyStack[]; functions: TemplateFunction[] } {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const stacks = Object.entries(manifest.artifacts)
    .filter(([, a]) => a.type === 'aws:cloudformation:stack' && a.properties?.templateFile)
    .map(([name, a]) => ({
      name,
      template: JSON.parse(
        readFileSync(join(outdir, a.properties?.templateFile as string), 'utf8'),
      ) as Template,
    }));
  const functions: TemplateFunction[] = [];
  for (const stack of stacks) {
    for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const p = resource.Properties ?? {};
      const assetPath = resource.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') {
        throw new Error(`${stack.name}/${logicalId}: no bundled asset (aws:asset:path) in its metadata`);
      }
      const environment = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables ?? {}) as Record<string, unknown>;
      functions.push({
        stack: stack.name,
        logicalId,
        assetDir: join(outdir, assetPath),
        handler: String(p.Handler),
        runtime: String(p.Runtime),
        timeoutSeconds: Number(p.Timeout ?? 3),
        memoryMb: Number(p.MemorySize ?? 128),
        environment,
        role: p.Role,
        service: String(environment.POWERTOOLS_SERVICE_NAME ?? logicalId),
      });
    }
  }
  return { stacks, functions };
}

/** The logical id a `Ref` or `Fn::GetAtt` names, if the value is one. */
export function referencedId(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as { Ref?: unknown; 'Fn::GetAtt'?: unknown };
  if (typeof v.Ref === 'string') return v.Ref;
  const getAtt = v['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return String(getAtt[0]);
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

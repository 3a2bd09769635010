import type { IConstruct } from 'constructs';

/**
 * Whether a synth should say how it bundles: `-c verbose=true` (or `cdk synth --debug-app`,
 * which sets CDK_DEBUG). Otherwise `cdk synth --quiet` prints nothing of its own: the bundles'
 * sizes and aws-cdk-lib's "Bundling asset …" lines are for a verbose run; esbuild's warnings
 * and errors always show.
 */
export function verboseSynth(scope: IConstruct): boolean {
  const asked = scope.node.tryGetContext('verbose');
  return asked === true || asked === 'true' || process.env.CDK_DEBUG === 'true';
}

/**
 * aws-cdk-lib announces each bundling on stderr unconditionally, and the CDK CLI shows whatever an
 * app writes there, --quiet or not: a quiet synth drops that announcement, and nothing else.
 */
export function muteBundlingAnnouncements(stderr: NodeJS.WriteStream = process.stderr): void {
  const write = stderr.write.bind(stderr) as (...args: unknown[]) => boolean;
  stderr.write = ((chunk: unknown, ...rest: unknown[]) =>
    typeof chunk === 'string' && /^Bundling asset \S+\.\.\.\n$/.test(chunk)
      ? true
      : write(chunk, ...rest)) as typeof stderr.write;
}

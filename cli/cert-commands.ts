import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { certificateNamespace, certificateRef } from '../functions/domain/lbaas-request.js';
import type { CertificateBundle } from '../functions/domain/ports.js';
import { CliExit, json, out, withClient } from './cli-support.js';

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliExit(`${what}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * `lbaas cert import|show`: certificates for TERMINATED_HTTPS listeners, kept where the agents read
 * them (Secrets Manager; the local stack's stand-in). A passphrase never goes on the command line
 * (shell history, `ps`): it is read from a file or LBAAS_CERT_PASSPHRASE.
 */
export function addCertCommands(program: Command): void {
  const cert = program.command('cert').description('certificates for TERMINATED_HTTPS listeners');
  cert
    .command('import')
    .description(
      'store a certificate and print the reference listeners use (default_tls_container_ref, sni_container_refs)',
    )
    .requiredOption('--name <name>', 'its name within the project (letters, digits, _ . -)')
    .requiredOption('--project <id>', 'the project (tenant) whose listeners may use it')
    .requiredOption('--cert <file>', 'the certificate (PEM)')
    .option(
      '--key <file>',
      'its private key (PEM); without it, a CA bundle for client or member verification',
    )
    .option('--chain <file>', 'intermediate certificates (PEM)')
    .option('--passphrase-file <file>', 'the key’s passphrase (or LBAAS_CERT_PASSPHRASE)')
    .option('--json', 'machine-readable output')
    .action(async (opts, command: Command) => {
      const passphrase = opts.passphraseFile
        ? readPem(opts.passphraseFile, '--passphrase-file').trim()
        : process.env.LBAAS_CERT_PASSPHRASE;
      const bundle: CertificateBundle = {
        certificate: readPem(opts.cert, '--cert'),
        ...(opts.key ? { private_key: readPem(opts.key, '--key') } : {}),
        ...(opts.chain ? { intermediates: readPem(opts.chain, '--chain') } : {}),
        ...(passphrase ? { passphrase } : {}),
      };
      await withClient(command, async (client) => {
        const ref = `${certificateNamespace(client.target.env, String(opts.project).toLowerCase())}${opts.name}`;
        // The listener's own rule for a reference: what is imported can be named.
        const valid = certificateRef.safeParse(ref);
        if (!valid.success)
          throw new CliExit(
            `--name and --project make ${ref}, which ${valid.error.issues[0]?.message ?? 'is not valid'}`,
          );
        const store = client.certificates;
        if (!store) throw new CliExit('no certificate store for this target');
        try {
          await store.put(ref, bundle);
        } catch (error) {
          throw new CliExit((error as Error).message);
        }
        if (!opts.json) return out(ref);
        const material = await store.read(ref);
        json({ ref, serverNames: material.serverNames, fingerprint: material.fingerprint });
      });
    });
  cert
    .command('show <ref>')
    .description('what a stored certificate serves (its DNS names and fingerprint; never the key)')
    .action(async (ref: string, _opts, command: Command) => {
      await withClient(command, async (client) => {
        if (!client.certificates) throw new CliExit('no certificate store for this target');
        try {
          const m = await client.certificates.read(ref);
          json({ ref, serverNames: m.serverNames, fingerprint: m.fingerprint, chain: m.chain !== undefined });
        } catch (error) {
          throw new CliExit((error as Error).message);
        }
      });
    });
}

import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { LbaasError } from '../domain/errors.js';
import type { CertificateBundle } from '../domain/ports.js';
import type { CertificateMaterial } from '../domain/tls-translation.js';

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * A stored bundle checked and described: the certificate parses, the key parses (with its
 * passphrase) and belongs to the certificate, the chain holds certificates only. Errors name what is
 * wrong, never the material.
 */
export function materialFrom(ref: string, raw: unknown): CertificateMaterial {
  const fail = (why: string) => new LbaasError(`certificate ${ref}: ${why}`);
  if (typeof raw !== 'object' || raw === null)
    throw fail('is not a JSON object with certificate and private_key');
  const b = raw as Partial<CertificateBundle>;
  if (typeof b.certificate !== 'string' || (b.private_key !== undefined && typeof b.private_key !== 'string'))
    throw fail('needs certificate (PEM text) and, to be served, private_key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(b.certificate);
  } catch {
    throw fail('certificate is not a PEM X.509 certificate');
  }
  // Without a key it is a CA bundle (client_ca_tls_container_ref, ca_tls_container_ref): every
  // certificate in it must parse; the translation refuses to serve it.
  if (b.private_key === undefined) {
    for (const c of b.certificate.match(PEM_CERT_RE) ?? []) {
      try {
        new X509Certificate(c);
      } catch {
        throw fail('certificate holds something that is not a certificate');
      }
    }
  }
  let key: ReturnType<typeof createPrivateKey> | undefined;
  if (b.private_key !== undefined) {
    try {
      key = createPrivateKey({
        key: b.private_key,
        ...(b.passphrase ? { passphrase: b.passphrase } : {}),
      });
    } catch {
      throw fail(
        b.passphrase
          ? 'private_key does not open with the passphrase'
          : 'private_key is not a PEM private key (encrypted ones need passphrase)',
      );
    }
    if (!x509.checkPrivateKey(key)) throw fail('private_key does not belong to the certificate');
  }
  const chain = typeof b.intermediates === 'string' && b.intermediates.trim() ? b.intermediates : undefined;
  if (chain) {
    const certs = chain.match(PEM_CERT_RE) ?? [];
    if (certs.length === 0) throw fail('intermediates hold no PEM certificate');
    for (const c of certs) {
      try {
        new X509Certificate(c);
      } catch {
        throw fail('intermediates hold something that is not a certificate');
      }
    }
  }
  const fingerprint = createHash('sha256')
    .update(b.certificate)
    .update('\0')
    .update(b.private_key ?? '')
    .update('\0')
    .update(chain ?? '')
    .update('\0')
    .update(b.passphrase ?? '')
    .digest('hex');
  const dns = (x509.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1];
  return {
    certificate: b.certificate,
    ...(b.private_key !== undefined ? { privateKey: b.private_key } : {}),
    ...(chain ? { chain } : {}),
    ...(b.passphrase ? { passphrase: b.passphrase } : {}),
    fingerprint,
    serverNames: dns.length > 0 ? dns : cn ? [cn] : [],
    ...(key?.asymmetricKeyType ? { keyType: key.asymmetricKeyType } : {}),
  };
}

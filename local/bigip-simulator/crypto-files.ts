import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { basename } from 'node:path';
import { errors } from './error-bodies.js';
import { partitionFilter } from './http-io.js';
import type { ConfigStore } from './ltm-model.js';
import { type Collection, SimError, type StoredObject } from './ltm-types.js';

/** Where uploads land (device-facts.md §7.7). */
const DOWNLOADS = '/var/config/rest/downloads';

/**
 * Certificates and keys as a device takes them (peer-features.md §2.2; device-facts.md §7.7,
 * §7.8): the bytes are uploaded to `/mgmt/shared/file-transfer/uploads/<name>` in chunks with
 * `Content-Range: start-end/total` and land in `/var/config/rest/downloads/<name>`. Two ways make
 * them `sys/file/ssl-cert|ssl-key` objects:
 * - `POST /mgmt/tm/sys/file/ssl-cert` (and `ssl-key`) `{name, partition, sourcePath:
 *   "file:///var/config/rest/downloads/<n>"}`: how F5's Ansible and Terraform put them into any
 *   partition (§7.8, recorded);
 * - `POST /mgmt/tm/sys/crypto/cert|key {command: "install", name, from-local-file}`: how F5's agent
 *   installs them into /Common by bare name; F5's own Node.js client installs a key by a full
 *   partition path this way (f5-cloud-libs `installPrivateKey`: `name: "/<folder>/<name>"`,
 *   `fromLocalFile`) and reads it back at `sys/crypto/key/~<folder>~<name>`.
 * Reads carry `checksum` (`SHA1:<size>:<hex>`), `sourcePath`, `keyType` and `size` (§7.8); never the
 * key material. Uploaded files belong to the unit; installed objects are configuration (config-sync
 * copies them).
 */
export class CryptoFiles {
  private readonly uploads = new Map<string, { file: Buffer; chunks: Record<string, number> }>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** One chunk of an upload; answers as the file-transfer worker does (§7.7). */
  upload(name: string, range: string | undefined, bytes: Buffer): { status: number; body: unknown } {
    if (!/^[A-Za-z0-9_.:%-]{1,255}$/.test(name)) return { status: 400, body: errors.invalidName(name) };
    const m = /^(\d+)-(\d+)\/(\d+)$/.exec(range ?? '');
    if (!m)
      return {
        status: 400,
        body: errors.invalidValue('simulator: Content-Range start-end/total is required'),
      };
    const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (end - start + 1 !== bytes.length || end >= total)
      return { status: 400, body: errors.invalidValue('simulator: Content-Range does not match the body') };
    const previous = start === 0 ? undefined : this.uploads.get(name);
    const upload = previous ?? { file: Buffer.alloc(total), chunks: {} };
    bytes.copy(upload.file, start);
    upload.chunks[String(start)] = bytes.length;
    this.uploads.set(name, upload);
    const received = Object.values(upload.chunks).reduce((sum, n) => sum + n, 0);
    // §7.7 (F5 FAST docs, go-bigip's `Upload`): the recorded single-chunk reply. For a chunk of a
    // longer file, `remainingByteCount` counting what is still missing and `usedChunks` keyed by each
    // chunk's start are inferred from the field names; the temporary path is the simulator's.
    return {
      status: 200,
      body: {
        remainingByteCount: Math.max(0, total - received),
        usedChunks: upload.chunks,
        totalByteCount: total,
        localFilePath: `${DOWNLOADS}/${name}`,
        temporaryFilePath: `${DOWNLOADS}/tmp/${name}`,
        generation: 0,
        lastUpdateMicros: this.clock() * 1000,
      },
    };
  }

  private uploaded(path: string): Buffer | undefined {
    return this.uploads.get(basename(path))?.file;
  }

  /** `sys/crypto/(cert|key)` installs and `sys/file/(ssl-cert|ssl-key)` reads and deletes. */
  execute(
    store: ConfigStore,
    method: string,
    tm: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
  ): unknown {
    const installed = /^sys\/crypto\/(cert|key)\/([^/]+)$/.exec(tm);
    if (installed) {
      if (method !== 'GET') throw new SimError(405, errors.methodNotAllowed(method));
      const collection: Collection = installed[1] === 'key' ? 'sys/file/ssl-key' : 'sys/file/ssl-cert';
      const path = decodeURIComponent(installed[2] as string).replaceAll('~', '/');
      const object = store.get(collection, path.startsWith('/') ? path : `/Common/${path}`);
      if (!object)
        throw new SimError(404, errors.notFound(installed[1] === 'key' ? 'Key' : 'Certificate', path));
      return {
        kind: `tm:sys:crypto:${installed[1]}:${installed[1]}state`,
        name: object.name,
        partition: object.partition,
        fullPath: object.fullPath,
        generation: object.generation,
      };
    }
    const install = /^sys\/crypto\/(cert|key)$/.exec(tm);
    if (install) {
      if (method !== 'POST' || body.command !== 'install')
        throw new SimError(405, errors.methodNotAllowed(method));
      const collection: Collection = install[1] === 'key' ? 'sys/file/ssl-key' : 'sys/file/ssl-cert';
      // F5's SDK and agent send `from-local-file`, F5's Node.js client `fromLocalFile`.
      const from = String(body['from-local-file'] ?? body.fromLocalFile ?? '');
      const content = this.uploaded(from);
      if (!content) throw new SimError(400, errors.invalidValue(`simulator: ${from} was not uploaded`));
      const path = String(body.name ?? '');
      const m = /^\/([^/]+)\/([A-Za-z0-9_.:%-]+)$/.exec(path.startsWith('/') ? path : `/Common/${path}`);
      if (!m) throw new SimError(400, errors.invalidName(path));
      const [, partition, name] = m as unknown as [string, string, string];
      if (!store.folderExists(partition)) throw new SimError(400, errors.folderMissingInUrl(`/${partition}`));
      const object = store.make(name, partition, {
        content: content.toString('utf8'),
        sourcePath: `file://${from}`,
        ...(typeof body.passphrase === 'string' ? { passphrase: body.passphrase } : {}),
      });
      // Installing over an existing name replaces it, as `install` does.
      store.insert(collection, object.fullPath, object);
      return { kind: `tm:sys:crypto:${install[1]}:${install[1]}state`, command: 'install', name: path };
    }
    const file = /^sys\/file\/(ssl-cert|ssl-key|external-monitor)(?:\/([^/]+))?$/.exec(tm);
    if (!file) throw new SimError(404, errors.unknownPath(`/tm/${tm}`));
    const collection = `sys/file/${file[1]}` as Collection;
    if (!file[2]) {
      if (method === 'POST') return render(collection, this.create(store, collection, body));
      if (method !== 'GET') throw new SimError(405, errors.methodNotAllowed(method));
      const partition = partitionFilter(query);
      return {
        kind: `tm:sys:file:${file[1]}:${file[1]}collectionstate`,
        items: store
          .all(collection)
          .filter((o) => !partition || o.partition === partition)
          .map((o) => render(collection, o)),
      };
    }
    const path = decodeURIComponent(file[2]).replaceAll('~', '/');
    const object = store.get(collection, path);
    if (!object) throw new SimError(404, errors.notFound('File Object', path));
    if (method === 'GET') return render(collection, object);
    if (method === 'PATCH' || method === 'PUT') {
      // A new sourcePath replaces the content (go-bigip's UpdateCertificate); nothing else changes.
      object.attrs = { ...object.attrs, ...this.fileAttributes(body) };
      object.generation = store.nextGeneration();
      return render(collection, object);
    }
    if (method !== 'DELETE') throw new SimError(405, errors.methodNotAllowed(method));
    if (collection === 'sys/file/external-monitor') {
      // §8.5: a program an external monitor runs is not deleted (the wording is the simulator's).
      const runner = store.all('ltm/monitor/external').find((m) => String(m.attrs.run ?? '') === path);
      if (runner) throw inUse(path, `external monitor ${runner.fullPath}`);
      store.remove(collection, path);
      return {};
    }
    const files = (p: { attrs: Record<string, unknown> }) => [
      ...((p.attrs.certKeyChain as Record<string, string>[]) ?? []).flatMap((c) => [c.cert, c.key, c.chain]),
      p.attrs.caFile,
      p.attrs.cert,
      p.attrs.key,
      p.attrs.chain,
    ];
    const user = [...store.all('ltm/profile/client-ssl'), ...store.all('ltm/profile/server-ssl')].find((p) =>
      files(p).includes(path),
    );
    if (user) throw inUse(path, `SSL profile ${user.fullPath}`);
    store.remove(collection, path);
    return {};
  }

  /** §7.8: `POST sys/file/ssl-cert|ssl-key {name, partition, sourcePath}` from an uploaded file. */
  private create(store: ConfigStore, collection: Collection, body: Record<string, unknown>): StoredObject {
    const name = String(body.name ?? '');
    if (!/^[A-Za-z0-9_.:%-]{1,255}$/.test(name)) throw new SimError(400, errors.invalidName(name));
    const partition = String(body.partition ?? 'Common').replace(/^\//, '');
    const path = `/${partition}/${name}`;
    if (!store.folderExists(partition))
      throw new SimError(400, errors.folderMissingOnCreate('File Object', path));
    if (store.get(collection, path)) throw new SimError(409, errors.exists('File Object', path, partition));
    const object = store.make(name, partition, this.fileAttributes(body));
    store.insert(collection, path, object);
    return object;
  }

  /** The content a `sourcePath` names (it must have been uploaded), and a key's passphrase. */
  private fileAttributes(body: Record<string, unknown>): Record<string, unknown> {
    const source = String(body.sourcePath ?? '');
    const local = /^file:\/\/(\/.+)$/.exec(source)?.[1];
    const content = local ? this.uploaded(local) : undefined;
    if (!content)
      throw new SimError(
        400,
        errors.invalidValue(`simulator: sourcePath ${source || '(none)'} names no uploaded file`),
      );
    return {
      content: content.toString('utf8'),
      sourcePath: source,
      ...(typeof body.passphrase === 'string' ? { passphrase: body.passphrase } : {}),
    };
  }
}

/** A certificate, key or external monitor program as a device lists it (§7.8, §8.3): never its content. */
/** A file still used by another object is not deleted (the wording is the simulator's: no public source quotes it). */
function inUse(path: string, user: string): SimError {
  return new SimError(
    400,
    errors.invalidValue(`simulator: ${path} is in use by ${user} (no public source quotes this refusal)`),
  );
}

function render(collection: Collection, o: StoredObject): Record<string, unknown> {
  const type = collection.split('/')[2] as string;
  const content = String(o.attrs.content ?? '');
  const size = Buffer.byteLength(content, 'utf8');
  return {
    kind: `tm:sys:file:${type}:${type}state`,
    name: o.name,
    partition: o.partition,
    fullPath: o.fullPath,
    generation: o.generation,
    selfLink: `https://localhost/mgmt/tm/${collection}/~${o.fullPath.slice(1).replaceAll('/', '~')}`,
    checksum: `SHA1:${size}:${createHash('sha1').update(content).digest('hex')}`,
    ...(collection === 'sys/file/external-monitor'
      ? {}
      : { keyType: keyTypeOf(collection, content, o.attrs.passphrase) }),
    size,
    ...(typeof o.attrs.sourcePath === 'string' ? { sourcePath: o.attrs.sourcePath } : {}),
  };
}

/**
 * `rsa-public` (certificate) and `rsa-private` (key) are recorded (f5-ansible fixtures, 13.0.0);
 * other algorithms follow the same pattern (`ec-private`, …), inferred.
 */
export function keyTypeOf(collection: Collection, content: string, passphrase: unknown): string {
  try {
    if (collection === 'sys/file/ssl-cert')
      return `${new X509Certificate(content).publicKey.asymmetricKeyType ?? 'rsa'}-public`;
    const key = createPrivateKey({
      key: content,
      ...(typeof passphrase === 'string' ? { passphrase } : {}),
    });
    return `${key.asymmetricKeyType ?? 'rsa'}-private`;
  } catch {
    return collection === 'sys/file/ssl-cert' ? 'rsa-public' : 'rsa-private';
  }
}

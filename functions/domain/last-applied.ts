import { createHash } from 'node:crypto';
import type { ApplyPlan, ApplyScope } from './bigip-apply-plan.js';
import {
  type BigIpObject,
  CONTENT_NAMED,
  type DeviceSnapshot,
  objectKey,
  type ReadUnit,
} from './bigip-objects.js';
import type { Translation } from './bigip-translation.js';
import { allRecords, type LoadBalancerTree, resourceKey, type StatusOutcome } from './resource-state.js';
import { forVersion } from './tmos-versions.js';

/*
 * Compare like with like (issue 31, part 1). A device reads many attributes back otherwise than they
 * were sent (defaults added, lists reordered, representations changed, fields that differ by TMOS
 * version), and no list of those quirks is ever complete. So per device object we keep what we last
 * applied (the intent's digest) and what the device itself read back right after that write (its
 * digest), with the TMOS version that read it:
 * - the intent is what it was and the device reads back what it did then → nothing to do, whatever
 *   the device added, normalised or reordered;
 * - otherwise (the intent changed, the device's read-back changed: drift, no record, or a record of
 *   another TMOS version) → today's field comparison decides, and what is written is read back and
 *   recorded.
 * The read-back compared is the adapter's canonical form (`fromWire`: the attributes we own), so
 * health (a member's `state`, `session: monitor-enabled`), `generation` and links never count.
 */

/** What was last applied to one device object and what the device read back right after. */
export interface LastApplied {
  /** Digest of the attributes sent (as that TMOS version takes them). */
  intent: string;
  /** Digest of the device's canonical read-back right after the write. */
  readBack: string;
  /** The TMOS version that read it back ('' when the device did not say): an upgrade changes read-backs. */
  tmos: string;
}

/** Last-applied records by device object key. */
export type LastAppliedMap = ReadonlyMap<string, LastApplied>;

/** JSON with keys sorted at every level (arrays keep their order), undefined left out. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** A short digest of a value's canonical JSON (128 bits of SHA-256, base64url). */
export function digest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest().subarray(0, 16).toString('base64url');
}

/** The attributes an object is sent with on a device of this version. */
export function intentDigest(object: BigIpObject, tmosVersion: string | undefined): string {
  return digest(forVersion(object, tmosVersion).attrs);
}

/** Objects that carry a record: content-named ones are never compared, and a folder has no attributes. */
export function isRecorded(kind: BigIpObject['kind']): boolean {
  return kind !== 'folder' && !CONTENT_NAMED.has(kind);
}

/**
 * Whether nothing changed since our last write of an object: its record is of this TMOS version,
 * the intent (`desired`, as this version takes it) is the one applied, and the device reads it back
 * as it did right after that write.
 */
export function unchangedSinceApplied(
  record: LastApplied | undefined,
  desired: BigIpObject,
  actual: Record<string, unknown>,
  tmosVersion: string | undefined,
): boolean {
  return (
    record !== undefined &&
    record.tmos === (tmosVersion ?? '') &&
    record.intent === digest(desired.attrs) &&
    record.readBack === digest(actual)
  );
}

/** Every last-applied record a load balancer's resource records hold. */
export function lastAppliedOf(tree: LoadBalancerTree): Map<string, LastApplied> {
  const out = new Map<string, LastApplied>();
  for (const r of allRecords(tree))
    for (const [key, v] of Object.entries(r.lastApplied ?? {})) out.set(key, v);
  return out;
}

/** The keys of the objects a plan creates or updates (a member list: each member in it). */
export function writtenKeys(plan: ApplyPlan): Set<string> {
  const keys = new Set<string>();
  for (const c of plan.commands) {
    if (c.op === 'delete' || !isRecorded(c.object.kind)) continue;
    if (c.op === 'replace-members') for (const m of c.members) keys.add(objectKey(m));
    else keys.add(objectKey(c.object));
  }
  return keys;
}

/**
 * The device's answers to a change's writes that stand for their read-back (ExecuteReport.answers):
 * those of objects whose intent changed, or that had no record of this TMOS version. An object
 * written again with the intent it was recorded with (drift repaired, or a read that disagreed with
 * an earlier answer) is read back with a GET instead, so a device whose answers differ from its
 * reads costs at most one more write per change, never one on every apply.
 */
export function usableAnswers(
  t: Translation,
  plan: ApplyPlan,
  answers: ReadonlyMap<string, Record<string, unknown>> | undefined,
  previous: LastAppliedMap,
  tmosVersion: string | undefined,
): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  if (!answers) return out;
  for (const key of writtenKeys(plan)) {
    const answer = answers.get(key);
    const wanted = t.present.get(key);
    if (!answer || !wanted) continue;
    const record = previous.get(key);
    const again = record?.tmos === (tmosVersion ?? '') && record.intent === intentDigest(wanted, tmosVersion);
    if (!again) out.set(key, answer);
  }
  return out;
}

/**
 * The GETs that read back what a plan writes, but for the objects whose answer stands for it
 * (`answered`): none when it writes nothing else that is recorded.
 */
export function readBackUnits(plan: ApplyPlan, answered: ReadonlySet<string> = new Set()): ReadUnit[] {
  const units = new Map<string, ReadUnit>();
  for (const c of plan.commands) {
    const o = c.object;
    if (c.op === 'delete' || !isRecorded(o.kind)) continue;
    if (c.op !== 'replace-members' && answered.has(objectKey(o))) continue;
    const unit: ReadUnit =
      o.kind === 'member' || c.op === 'replace-members'
        ? { kind: 'pool', partition: o.partition, name: (o.kind === 'member' ? o.pool : o.name) as string }
        : o.kind === 'monitor'
          ? { kind: 'monitor', partition: o.partition, name: o.name, monitorType: o.monitorType ?? 'http' }
          : ({ kind: o.kind, partition: o.partition, name: o.name } as ReadUnit);
    units.set(JSON.stringify(unit), unit);
  }
  return [...units.values()];
}

/**
 * The records after a change: each recorded object in scope that the plan wrote gets the intent
 * sent and the device's read-back right after (its answer to the write, `answers`, or a read after
 * it, `readBack`); one it did not write but that the field comparison found as wanted gets the
 * intent and what the device showed before (it holds that intent); one the record already matched
 * keeps it; one the translation deletes, or that the read-back does not show, loses it. Others (not
 * in scope) are kept as they are.
 */
export function lastAppliedAfter(
  t: Translation,
  scope: ApplyScope,
  plan: ApplyPlan,
  before: DeviceSnapshot,
  readBack: DeviceSnapshot | undefined,
  answers: ReadonlyMap<string, Record<string, unknown>>,
  previous: LastAppliedMap,
): Map<string, LastApplied> {
  const next = new Map(previous);
  const written = writtenKeys(plan);
  // The TMOS version that answered is the one that was read just before (the same unit).
  const tmos = readBack?.tmosVersion ?? before.tmosVersion;
  for (const key of scope.keys) {
    const wanted = t.present.get(key);
    if (!wanted) {
      if (t.absent.has(key)) next.delete(key);
      continue;
    }
    if (!isRecorded(wanted.kind)) continue;
    const answer = written.has(key) ? answers.get(key) : undefined;
    const snapshot = written.has(key) ? readBack : before;
    const actual = answer ?? snapshot?.objects.get(key);
    // Every difference the plan found is a command, so an object it did not write holds its intent.
    if (!actual || (!answer && !snapshot?.folderExists)) {
      next.delete(key);
      continue;
    }
    const version = answer ? tmos : snapshot?.tmosVersion;
    next.set(key, {
      intent: intentDigest(wanted, version),
      readBack: digest(actual),
      tmos: version ?? '',
    });
  }
  return next;
}

/** One resource record's last-applied records, as its item keeps them. */
export interface OwnedRecords {
  /** The resource's key (`type#id`). */
  key: string;
  lastApplied: Record<string, LastApplied>;
  /** The change wrote one of its objects (its records must be kept even without a status write). */
  written: boolean;
}

/**
 * The resource records whose last-applied records a change altered, each with its whole new set
 * (device object → record): what the translation says each object comes from decides where it is
 * kept, beside the desired state it was applied from.
 */
export function recordsByOwner(
  tree: LoadBalancerTree,
  t: Translation,
  next: LastAppliedMap,
  written: ReadonlySet<string>,
): OwnedRecords[] {
  const records = new Map(allRecords(tree).map((r) => [resourceKey(r.type, r.id), r]));
  // Where each record is kept now; an object the translation names another owner for moves there.
  const holder = new Map<string, string>();
  const grouped = new Map<string, Record<string, LastApplied>>();
  for (const [key, r] of records) {
    if (!r.lastApplied) continue;
    grouped.set(key, {});
    for (const objectKey of Object.keys(r.lastApplied)) holder.set(objectKey, key);
  }
  const wrote = new Set<string>();
  for (const [objectKey, record] of next) {
    const named = t.owner.get(objectKey);
    const owner = named !== undefined && records.has(named) ? named : holder.get(objectKey);
    if (owner === undefined) continue;
    const map = grouped.get(owner) ?? {};
    map[objectKey] = record;
    grouped.set(owner, map);
    if (written.has(objectKey)) wrote.add(owner);
  }
  const out: OwnedRecords[] = [];
  for (const [key, lastApplied] of grouped) {
    if (canonicalJson(records.get(key)?.lastApplied ?? {}) === canonicalJson(lastApplied)) continue;
    out.push({ key, lastApplied, written: wrote.has(key) });
  }
  return out;
}

/**
 * Folds records into the status writes an apply makes anyway (an ACTIVE outcome of their resource
 * record), and says which resources' records rode along.
 */
export function foldIntoOutcomes(
  outcomes: readonly StatusOutcome[],
  owned: readonly OwnedRecords[],
): { outcomes: StatusOutcome[]; folded: Set<string> } {
  const byKey = new Map(owned.map((o) => [o.key, o]));
  const folded = new Set<string>();
  const out = outcomes.map((o) => {
    const key = resourceKey(o.record.type, o.record.id);
    const own = byKey.get(key);
    if (o.kind !== 'active' || !own) return o;
    folded.add(key);
    return { ...o, lastApplied: own.lastApplied };
  });
  return { outcomes: out, folded };
}

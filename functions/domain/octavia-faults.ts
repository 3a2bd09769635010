import type { RejectionCategory } from './errors.js';
import type { ResourceType } from './lbaas-request.js';

/**
 * Octavia's error answers: an HTTP code and a body `{faultcode, faultstring, debuginfo}`
 * (`faultcode` is "Client" for 4xx, "Server" for 5xx). The wording follows Octavia's
 * own where clients or the peer's test suite read it (the 501's
 * faultstring becomes the skip reason of octavia-tempest-plugin).
 */
export class OctaviaFault extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** `cause`: what went wrong underneath, for the log only (the caller sees the message). */
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'OctaviaFault';
  }

  body(): { faultcode: string; faultstring: string; debuginfo: null } {
    return {
      faultcode: this.status >= 500 ? 'Server' : 'Client',
      faultstring: this.message,
      debuginfo: null,
    };
  }
}

/** The provider name this API answers for (Octavia's `provider` field). */
export const PROVIDER = 'bigip';
export const PROVIDER_DESCRIPTION = 'F5 BIG-IP through bigip-lbaas';

/** How Octavia names each resource in its messages. */
export const DISPLAY_NAMES: Record<ResourceType, string> = {
  loadbalancer: 'Load Balancer',
  listener: 'Listener',
  pool: 'Pool',
  member: 'Member',
  healthmonitor: 'Health Monitor',
  l7policy: 'L7 Policy',
  l7rule: 'L7 Rule',
};

export const faults = {
  badRequest: (detail: string) => new OctaviaFault(400, detail),
  validation: (detail: string) => new OctaviaFault(400, `Validation failure: ${detail}`),
  invalidInput: (field: string, value: unknown, why: string) =>
    new OctaviaFault(400, `Invalid input for field/attribute ${field}. Value: '${String(value)}'. ${why}`),
  unknownAttribute: (argument: string, name: string) =>
    new OctaviaFault(400, `Unknown attribute for argument ${argument}: ${name}`),
  notFound: (type: ResourceType, id: string) =>
    new OctaviaFault(404, `${DISPLAY_NAMES[type]} ${id} not found.`),
  forbidden: () => new OctaviaFault(403, 'Policy does not allow this request to be performed.'),
  immutable: (type: ResourceType, id: string) =>
    new OctaviaFault(409, `${DISPLAY_NAMES[type]} ${id} is immutable and cannot be updated.`),
  pendingState: (state: string, id: string) =>
    new OctaviaFault(409, `Invalid state ${state} of loadbalancer resource ${id}`),
  conflict: (message: string) => new OctaviaFault(409, message),
  /** Octavia's ProviderUnsupportedOptionError: a field or value this provider does not implement. */
  unsupportedOption: (what: string) =>
    new OctaviaFault(501, `Provider '${PROVIDER}' does not support a requested option: ${what}`),
  /** Octavia's ProviderNotImplementedError: an action this provider does not implement. */
  unsupportedAction: (what: string) =>
    new OctaviaFault(501, `Provider '${PROVIDER}' does not support a requested action: ${what}`),
  notImplemented: (what: string) => new OctaviaFault(501, what),
  unavailable: (why: string, options?: ErrorOptions) => new OctaviaFault(503, why, options),
  unauthorized: () => new OctaviaFault(401, 'The request you have made requires authentication.'),
  methodNotAllowed: () => new OctaviaFault(405, 'The method is not allowed for the requested URL.'),
};

/**
 * The answer to a refusal the recording transaction or the request checks made (the same
 * refusals the scheduler logs for a queued request): the Octavia code for its category.
 */
export function faultForRejection(category: RejectionCategory, message: string): OctaviaFault {
  switch (category) {
    case 'invalid-message':
    case 'immutable-field':
      return faults.badRequest(message);
    case 'tenant-mismatch':
    case 'environment-mismatch':
    case 'not-found':
      return new OctaviaFault(404, message);
    case 'conflict':
      return faults.conflict(message);
    case 'unsupported':
      return faults.unsupportedOption(message);
    case 'group-at-capacity':
    case 'environment-at-capacity':
      // The environment cannot place another load balancer: a conflict with its state, which an
      // operator resolves (Terraform and the SDKs report a 409 without waiting forever on it).
      return faults.conflict(message);
    case 'quota-exceeded':
      return new OctaviaFault(403, message);
  }
}

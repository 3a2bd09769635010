/**
 * BIG-IP's error bodies, as data (TMOS versions differ in wording; correct them here from real
 * captures). Sources: docs/reference/bigip-rest.md part A. Texts marked "unverified" there are
 * plausible renderings of the same message family.
 */
export interface McpdError {
  code: number;
  message: string;
  errorStack: [];
  apiError: number;
}

export function mcpd(code: number, message: string, apiError = 3): McpdError {
  return { code, message, errorStack: [], apiError };
}

let operationId = 7_945_900;

/** restjavad's error shape (auth and framework errors). */
export function restFramework(code: number, message: string, referer = '127.0.0.1') {
  operationId += 1;
  return { code, message, referer, restOperationId: operationId, kind: ':resterrorresponse' };
}

export const errors = {
  notFound: (noun: string, path: string) =>
    mcpd(404, `01020036:3: The requested ${noun} (${path}) was not found.`),
  memberNotFound: (path: string) => mcpd(404, `Object not found - ${path}`, 1),
  exists: (noun: string, path: string, partition: string) =>
    mcpd(409, `01020066:3: The requested ${noun} (${path}) already exists in partition ${partition}.`),
  folderMissingInUrl: (folder: string) =>
    mcpd(400, `The requested folder (${folder}) was not found.`, 26214401),
  folderMissingOnCreate: (noun: string, path: string) =>
    mcpd(400, `01070734:3: Configuration error: Can't associate ${noun} (${path}) folder does not exist`),
  foreignKey: (value: string, attribute: string, owner: string, fk: string) =>
    mcpd(
      400,
      `01070712:3: Values (${value}) specified for ${attribute} (${owner}): foreign key index (${fk}) do not point at an item that exists in the database.`,
    ),
  poolInUse: (pool: string, vs: string) =>
    mcpd(
      400,
      `01070265:3: The Pool (${pool}) cannot be deleted because it is in use by a Virtual Server (${vs}).`,
    ),
  monitorInUse: (monitor: string) => mcpd(400, `01070083:3: Monitor ${monitor} is in use.`),
  nodeInUse: (node: string, pool: string) =>
    mcpd(400, `01070110:3: Node address '${node}' is referenced by a member of pool '${pool}'.`),
  virtualAddressInUse: (va: string, vs: string) =>
    mcpd(400, `01070757:3: Virtual Address ${va} is in use by Virtual Server ${vs}.`),
  profileInUse: (profile: string, vs: string) =>
    mcpd(400, `01071312:3: Profile ${profile} is in use by Virtual Server ${vs}.`),
  destinationConflict: (vs: string, other: string) =>
    mcpd(
      409,
      `01070333:3: Virtual Server ${vs} illegally shares destination address, source address, service port, ip-protocol, and route domain with Virtual Server ${other}.`,
    ),
  // device-facts.md §2.7 (the KIC issue's text).
  snatpoolInUse: (name: string) =>
    mcpd(400, `01070320:3: Snatpool ${name} is still referenced by a virtual server.`),
  // device-facts.md §2.1 (F5Networks/f5-openstack-lbaasv2-driver#235, a real log).
  nodeAddressShared: (node: string, existing: string) =>
    mcpd(
      400,
      `0107003a:3: Pool member node (${node}) and existing node (${existing}) cannot use the same IP Address.`,
    ),
  // §2.2 (f5-appsvcs-extension#741, #186).
  virtualAddressExists: (address: string) =>
    mcpd(400, `0107176c:3: Invalid Virtual Address, the IP address ${address} already exists.`),
  // §3.1 (f5-appsvcs-extension#904, 17.1.2.1): a folder that still holds items, hidden ones included.
  folderNotEmpty: (folder: string, item: string) =>
    mcpd(
      400,
      `010713f9:3: The folder ${folder} cannot be deleted because it contains configuration item (${item})`,
    ),
  /** §7.6 (k8s-bigip-ctlr#332): two client-ssl profiles of one virtual marked SNI default. */
  sniDefaultTwice: (vs: string) =>
    mcpd(
      400,
      `01071809:3: Virtual Server ${vs} has more than one clientssl/serverssl profile that is default for SNI.`,
    ),
  /** §7.6 (k8s-bigip-ctlr#1042, 14.1.1): two client-ssl profiles of one virtual with the same server name. */
  sniServerNameTwice: (vs: string) =>
    mcpd(
      400,
      `0107149e:3: Virtual server ${vs} has more than one clientssl/serverssl profile with same server name.`,
    ),
  invalidName: (name: string) => mcpd(400, `01070022:3: The requested object name (${name}) is invalid.`),
  invalidValue: (message: string) => mcpd(400, `01070712:3: ${message}`),
  /** §3.4 (f5-common-python#668): a published policy is neither created nor modified directly from 12.1. */
  publishedPolicy: (path: string, draft: string) =>
    mcpd(
      400,
      `01071abb:3: Cannot create/modify published policy '${path}' directly, try specifying a draft folder like '${draft}'`,
    ),
  /** §3.4, §7.3 (f5-common-python#1098): a draft named like a published policy (path quoted, text as recorded). */
  publishedPolicyExists: (path: string) =>
    mcpd(
      400,
      `01070734:3: Configuration error: Published policy "${path}" exists, use create-draft to create a draft copy .`,
    ),
  /** 01070265 for an iRule (peer-features.md §2.6, agent#1024), in the Pool wording of bigip-rest.md A.3. */
  ruleInUse: (rule: string, vs: string) =>
    mcpd(
      400,
      `01070265:3: The Rule (${rule}) cannot be deleted because it is in use by a Virtual Server (${vs}).`,
    ),
  /** The Pool wording of 01070265 (bigip-rest.md A.3) for a policy; no public source quotes the policy's own. */
  policyInUse: (policy: string, vs: string) =>
    mcpd(
      400,
      `01070265:3: The Policy (${policy}) cannot be deleted because it is in use by a Virtual Server (${vs}).`,
    ),
  htmlTag: () => mcpd(400, 'HTML Tag-like Content in the Request URL/Body', 26214401),
  invalidJson: () => mcpd(400, 'Found invalid JSON body in the request.', 1),
  emptyPatch: () => mcpd(400, 'one or more properties must be specified', 26214401),
  transactionFailed: (inner: string) => mcpd(400, `transaction failed:${inner}`, 2),
  transactionEmpty: () => mcpd(400, 'there is no command to commit in the transaction', 2),
  transactionNotFound: (id: string) => mcpd(404, `Transaction with ID ${id} not found`, 1),
  busy: () => mcpd(503, 'There is an active asynchronous task executing.', 32964609),
  mcpdLost: () => mcpd(500, 'The connection to mcpd has been lost, try again.', 32768001),
  tokenExpired: () => restFramework(401, 'X-F5-Auth-Token has expired.'),
  tokenUnknown: () => restFramework(401, 'X-F5-Auth-Token does not exist.'),
  noAuth: (uri: string) =>
    restFramework(
      401,
      `Authorization failed: no user authentication header or token detected. Uri:${uri} Referrer:127.0.0.1 Sender:127.0.0.1`,
    ),
  loginFailed: () => restFramework(401, 'Authentication failed.'),
  tokenQuota: (user: string) => restFramework(400, `User ${user} has reached maximum active login tokens.`),
  tokenNotFound: (token: string) => restFramework(404, `Object not found - ${token}`),
  tokenTimeoutTooLong: () => restFramework(406, 'Auth-token absolute timeout (36000 seconds) exceeded'),
  notRegistered: (path: string) =>
    restFramework(
      404,
      `URI path ${path} not registered.  Please verify URI is supported and wait for /available suffix to be responsive.`,
    ),
  unknownPath: (path: string) => restFramework(404, `Public URI path not registered: ${path}`),
  methodNotAllowed: (method: string) => restFramework(405, `Method ${method} not allowed`),
};

export const JETTY_500_HTML =
  '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n<title>Error 500 AsyncContext timeout</title>\n</head>\n<body><h2>HTTP ERROR 500 AsyncContext timeout</h2>\n</body>\n</html>\n';

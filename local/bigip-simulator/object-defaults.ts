import type { Collection, StoredObject } from './ltm-types.js';

/**
 * device-facts.md §1.6: the fields a real device adds to every object it renders, whatever the client sent
 * (from f5-ansible's fixtures recorded on 12.1–13.1 and f5-sdk's device configs). The agent must
 * compare only the attributes it owns; these make sure it does.
 */
export function renderDefaults(collection: Collection, o: StoredObject): Record<string, unknown> {
  const v6 = String(o.attrs.address ?? o.attrs.destination ?? '').includes(':');
  switch (collection) {
    case 'ltm/virtual':
      return {
        addressStatus: 'yes',
        autoLasthop: 'default',
        cmpEnabled: 'yes',
        gtmScore: 0,
        mirror: 'disabled',
        mobileAppTunnel: 'disabled',
        nat64: 'disabled',
        rateLimit: 'disabled',
        rateLimitDstMask: 0,
        rateLimitMode: 'object',
        rateLimitSrcMask: 0,
        serviceDownImmediateAction: 'none',
        source: /\.\d+$/.test(String(o.attrs.destination)) && v6 ? '::/0' : '0.0.0.0/0',
        sourcePort: 'preserve',
        synCookieStatus: 'not-activated',
        translateAddress: 'enabled',
        translatePort: 'enabled',
        vlansDisabled: true,
        vsIndex: o.generation,
      };
    case 'ltm/pool':
      return {
        allowNat: 'yes',
        allowSnat: 'yes',
        ignorePersistedWeight: 'disabled',
        ipTosToClient: 'pass-through',
        ipTosToServer: 'pass-through',
        linkQosToClient: 'pass-through',
        linkQosToServer: 'pass-through',
        minActiveMembers: 0,
        minUpMembers: 0,
        minUpMembersAction: 'failover',
        minUpMembersChecking: 'disabled',
        queueDepthLimit: 0,
        queueOnConnectionLimit: 'disabled',
        queueTimeLimit: 0,
        reselectTries: 0,
        serviceDownAction: 'none',
        slowRampTime: 10,
      };
    case 'ltm/pool/members':
      return {
        dynamicRatio: 1,
        ephemeral: 'false',
        fqdn: { autopopulate: 'disabled' },
        inheritProfile: 'enabled',
        logging: 'disabled',
        monitor: 'default',
        priorityGroup: 0,
        rateLimit: 'disabled',
      };
    case 'ltm/node':
      return {
        connectionLimit: 0,
        dynamicRatio: 1,
        ephemeral: 'false',
        fqdn: { addressFamily: 'ipv4', autopopulate: 'disabled', downInterval: 5, interval: '3600' },
        logging: 'disabled',
        monitor: 'default',
        rateLimit: 'disabled',
        ratio: 1,
      };
    case 'ltm/virtual-address':
      return {
        arp: 'enabled',
        connectionLimit: 0,
        floating: 'enabled',
        icmpEcho: 'enabled',
        inheritedTrafficGroup: 'false',
        mask: v6 ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '255.255.255.255',
        routeAdvertisement: 'disabled',
        serverScope: 'any',
        spanning: 'disabled',
        trafficGroupReference: {
          link: `https://localhost/mgmt/tm/cm/traffic-group/${String(
            o.attrs.trafficGroup ?? '/Common/traffic-group-1',
          )
            .slice(1)
            .replaceAll('/', '~')}`,
        },
      };
    default:
      if (collection.startsWith('ltm/monitor/'))
        return {
          adaptive: 'disabled',
          adaptiveDivergenceType: 'relative',
          destination: '*:*',
          ipDscp: 0,
          manualResume: 'disabled',
          reverse: 'disabled',
          timeUntilUp: 0,
          transparent: 'disabled',
          upInterval: 0,
        };
      return {};
  }
}

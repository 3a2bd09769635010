"""Drives the Octavia API with openstacksdk's load-balancer proxy, as a script of an operator would.

Usage: openstacksdk-tree.py <endpoint> <spec-json>. The spec names the tree to build (the test
builds it, and checks what this prints against it): a project's quota, a flavor and an availability
zone with their profiles, then a load balancer with that flavor and zone and its children. Prints
one JSON object: each object as the SDK read it back after the tree was ACTIVE, whether the cascade
delete left nothing, and what was left of the flavor, zone and quota after their deletes. No identity
service: auth_type none with the endpoint as the load-balancer and network endpoint.
"""
import json
import sys
import time

import openstack

endpoint, spec = sys.argv[1], json.loads(sys.argv[2])
conn = openstack.connect(
    auth_type='none',
    auth={'endpoint': endpoint},
    load_balancer_endpoint_override=endpoint,
    network_endpoint_override=endpoint,
)
lbc = conn.load_balancer


def settle(lb_id):
    # The SDK's own waiter, polled faster than its 2 s default so the test does not idle.
    return lbc.wait_for_load_balancer(lb_id, interval=0.1, wait=120)


def shown(resource):
    return resource.to_dict(computed=False)


subnet = conn.network.find_subnet(spec['subnet'], ignore_missing=False)
# The project's quota, set and read back; the flavor and the availability zone the load balancer
# is created with, each with its profile (admin calls: noauth callers are admins, as in Octavia).
project = spec['project']
lbc.update_quota(project, **spec['quota'])
quota = lbc.get_quota(project)
flavor_profile = lbc.create_flavor_profile(**spec['flavor_profile'])
flavor = lbc.create_flavor(flavor_profile_id=flavor_profile.id, **spec['flavor'])
zone_profile = lbc.create_availability_zone_profile(**spec['zone_profile'])
zone = lbc.create_availability_zone(availability_zone_profile_id=zone_profile.id, **spec['zone'])
lb = lbc.create_load_balancer(
    vip_subnet_id=subnet.id,
    project_id=project,
    flavor_id=flavor.id,
    availability_zone=zone.name,
    **spec['loadbalancer'],
)
settle(lb.id)
listener = lbc.create_listener(loadbalancer_id=lb.id, **spec['listener'])
settle(lb.id)
pool = lbc.create_pool(listener_id=listener.id, **spec['pool'])
settle(lb.id)
member = lbc.create_member(pool, subnet_id=subnet.id, **spec['member'])
settle(lb.id)
monitor = lbc.create_health_monitor(pool_id=pool.id, **spec['monitor'])
settle(lb.id)
policy = lbc.create_l7_policy(listener_id=listener.id, **spec['policy'])
settle(lb.id)
rule = lbc.create_l7_rule(policy, **spec['rule'])
settle(lb.id)

read = {
    'subnet_id': subnet.id,
    'quota': shown(quota),
    'flavor_profile': shown(lbc.get_flavor_profile(flavor_profile.id)),
    'flavor': shown(lbc.get_flavor(flavor.id)),
    'zone_profile': shown(lbc.get_availability_zone_profile(zone_profile.id)),
    'zone': shown(lbc.get_availability_zone(zone.name)),
    'flavors': [x.id for x in lbc.flavors(name=spec['flavor']['name'])],
    'zones': [x.name for x in lbc.availability_zones(name=spec['zone']['name'])],
    'loadbalancer': shown(lbc.get_load_balancer(lb.id)),
    'listener': shown(lbc.get_listener(listener.id)),
    'pool': shown(lbc.get_pool(pool.id)),
    'member': shown(lbc.get_member(member.id, pool.id)),
    'members': [m.id for m in lbc.members(pool.id)],
    'monitor': shown(lbc.get_health_monitor(monitor.id)),
    'policy': shown(lbc.get_l7_policy(policy.id)),
    'rule': shown(lbc.get_l7_rule(rule.id, policy.id)),
    'listed': [x.id for x in lbc.load_balancers(name=spec['loadbalancer']['name'])],
}
lbc.delete_load_balancer(lb.id, cascade=True)
deadline = time.time() + 120
while lbc.find_load_balancer(lb.id) is not None and time.time() < deadline:
    time.sleep(0.1)
read['gone'] = lbc.find_load_balancer(lb.id) is None
# Then what the load balancer used: the zone and the flavor before their profiles (a profile in
# use cannot go), and the project's quota back to the defaults.
lbc.delete_availability_zone(zone.name, ignore_missing=False)
lbc.delete_availability_zone_profile(zone_profile.id, ignore_missing=False)
lbc.delete_flavor(flavor.id, ignore_missing=False)
lbc.delete_flavor_profile(flavor_profile.id, ignore_missing=False)
lbc.delete_quota(project, ignore_missing=False)
read['settings_left'] = {
    'zone': lbc.find_availability_zone(zone.name) is not None,
    'zone_profile': lbc.find_availability_zone_profile(zone_profile.id) is not None,
    'flavor': lbc.find_flavor(flavor.id) is not None,
    'flavor_profile': lbc.find_flavor_profile(flavor_profile.id) is not None,
}
read['quota_after_delete'] = shown(lbc.get_quota(project))
read['quota_defaults'] = shown(lbc.get_quota_default())
print(json.dumps(read, default=str))

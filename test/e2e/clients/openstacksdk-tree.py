"""Drives the Octavia API with openstacksdk's load-balancer proxy, as a script of an operator would.

Usage: openstacksdk-tree.py <endpoint> <spec-json>. The spec names the tree to build (the test
builds it, and checks what this prints against it). Prints one JSON object: each object as the SDK
read it back after the tree was ACTIVE, and whether the cascade delete left nothing. No identity
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
lb = lbc.create_load_balancer(vip_subnet_id=subnet.id, **spec['loadbalancer'])
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
print(json.dumps(read, default=str))

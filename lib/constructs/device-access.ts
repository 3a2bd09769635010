import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CfnResource, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  MappingValue,
  ParameterMapping,
  VpcLink,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpNlbIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { type ISubnet, type IVpc, Peer, Port, SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import {
  NetworkLoadBalancer,
  NetworkTargetGroup,
  Protocol,
  TargetType,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { IpTarget } from 'aws-cdk-lib/aws-elasticloadbalancingv2-targets';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IConstruct } from 'constructs';
import { DEFAULT_GROUP } from '../../functions/domain/agent-scheduler.js';
import type { BigIpEndpoint } from '../../functions/domain/ports.js';
import type { AgentDefinition, DeviceGroupConfig } from '../config/lbaas-config.js';

export interface DeviceAccessProps {
  name: string;
  /** The environment prefix. */
  env: string;
  /** The device group whose devices these are. */
  group: DeviceGroupConfig;
  /** Directory of the configuration file (the CA bundle path is relative to it). */
  configDir: string;
}

/**
 * How an environment's agents reach its BIG-IP management addresses. By default through an API
 * Gateway HTTP API whose VPC link reaches an internal Network Load Balancer in front of the
 * management ports (one listener per device, IAM-authorised routes `/<device>/…`); or, by
 * configuration, with the agent functions in the VPC calling the devices directly.
 */
export class DeviceAccess extends Construct {
  readonly endpoints: BigIpEndpoint[];
  readonly secret: Secret;
  readonly caBundle: string | undefined;
  /** The CA bundle's file, shipped inside each agent function's package. */
  readonly caBundlePath: string | undefined;
  readonly vpc: IVpc;
  private readonly api: HttpApi | undefined;
  private readonly directSecurityGroup: SecurityGroup | undefined;

  constructor(scope: Construct, id: string, props: DeviceAccessProps) {
    super(scope, id);
    const { group } = props;
    const devices = group.devices;
    // An environment's only group (`default`) keeps the names it had before groups existed.
    const label = group.name === DEFAULT_GROUP ? props.env : `${props.env}/${group.name}`;
    const env = { prefix: label, agents: group.agents };
    // Credentials live in Secrets Manager; the generated value is a placeholder the operator replaces.
    this.secret = new Secret(this, 'DeviceCredentials', {
      secretName: devices.credentialsSecretName,
      description: `${env.prefix}: iControl REST credentials of the BIG-IP devices ({"username","password"})`,
      // A generated placeholder: the operator puts the devices' real account in (never in the template).
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: 'admin' }),
        generateStringKey: 'password',
      },
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason: 'BIG-IP account passwords rotate on the devices; there is no Lambda rotation for them.',
    });
    this.caBundlePath = devices.caBundleFile ? resolve(props.configDir, devices.caBundleFile) : undefined;
    this.caBundle = this.caBundlePath ? readFileSync(this.caBundlePath, 'utf8') : undefined;

    const subnetIds =
      devices.subnetIds.length > 0 ? devices.subnetIds : [...new Set(env.agents.flatMap((a) => a.subnetIds))];
    this.vpc = Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: devices.vpcId as string, // required by the configuration schema
      availabilityZones: subnetIds.map((_, i) => Fn.select(i, Fn.getAzs())),
      privateSubnetIds: subnetIds,
    });

    if (devices.access === 'direct') {
      this.directSecurityGroup = new SecurityGroup(this, 'AgentsSecurityGroup', {
        vpc: this.vpc,
        description: `${env.prefix} agents: HTTPS to the BIG-IP management addresses and AWS APIs`,
        allowAllOutbound: false,
      });
      for (const unit of devices.units) {
        this.directSecurityGroup.addEgressRule(
          Peer.ipv4(`${unit.managementAddress}/32`),
          Port.tcp(unit.port),
          `iControl REST on ${unit.name}`,
        );
      }
      // DynamoDB, SQS and Secrets Manager through the VPC's NAT or endpoints.
      this.directSecurityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'AWS APIs over HTTPS');
      this.endpoints = devices.units.map((u) => ({
        name: u.name,
        baseUrl: `https://${u.managementAddress}:${u.port}`,
        ...(this.caBundle ? { caBundle: this.caBundle } : {}),
      }));
      return;
    }

    const subnets = subnetIds.map((s, i) => Subnet.fromSubnetId(this, `Subnet${i}`, s));
    const linkSg = new SecurityGroup(this, 'VpcLinkSecurityGroup', {
      vpc: this.vpc,
      description: `${env.prefix} VPC link: to the device load balancer only`,
      allowAllOutbound: false,
    });
    const nlbSg = new SecurityGroup(this, 'DeviceNlbSecurityGroup', {
      vpc: this.vpc,
      description: `${env.prefix} device load balancer: from the VPC link, HTTPS to the management addresses`,
      allowAllOutbound: false,
    });
    const nlb = new NetworkLoadBalancer(this, 'DeviceNlb', {
      vpc: this.vpc,
      internetFacing: false,
      vpcSubnets: { subnets },
      securityGroups: [nlbSg],
      crossZoneEnabled: true,
    });
    Validations.of(nlb).acknowledge({
      id: 'AwsSolutions::AwsSolutions-ELB2',
      reason:
        'Access logs of a TCP pass-through load balancer hold no request data; iControl calls are logged by the agents.',
    });
    const vpcLink = new VpcLink(this, 'VpcLink', {
      vpc: this.vpc,
      subnets: { subnets },
      securityGroups: [linkSg],
    });
    this.api = new HttpApi(this, 'DeviceApi', {
      apiName: `${props.name}-${props.env}${group.name === DEFAULT_GROUP ? '' : `-${group.name}`}-devices`,
      description: `${env.prefix}: iControl REST to the BIG-IP devices through the VPC link (IAM-authorised)`,
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'DeviceApiAccessLogs', {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new HttpStage(this, 'DeviceApiStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });
    devices.units.forEach((unit, i) => {
      const port = 8443 + i;
      const listener = nlb.addListener(`Device${i}`, { port, protocol: Protocol.TCP });
      listener.addTargetGroups(
        `Device${i}Targets`,
        new NetworkTargetGroup(this, `Device${i}TargetGroup`, {
          vpc: this.vpc,
          port: unit.port,
          protocol: Protocol.TCP,
          targetType: TargetType.IP,
          targets: [new IpTarget(unit.managementAddress, unit.port)],
          healthCheck: { protocol: Protocol.TCP },
        }),
      );
      // Separate ingress/egress resources (through connections) avoid a cycle between the two groups.
      linkSg.connections.allowTo(nlbSg, Port.tcp(port), `VPC link to ${unit.name}`);
      nlbSg.addEgressRule(
        Peer.ipv4(`${unit.managementAddress}/32`),
        Port.tcp(unit.port),
        `iControl REST on ${unit.name}`,
      );
      this.api?.addRoutes({
        path: `/${unit.name}/{proxy+}`,
        methods: [HttpMethod.ANY],
        authorizer: new HttpIamAuthorizer(),
        integration: new HttpNlbIntegration(`Device${i}Integration`, listener, {
          vpcLink,
          secureServerName: unit.name,
          parameterMapping: new ParameterMapping().overwritePath(MappingValue.custom('/$request.path.proxy')),
        }),
      });
    });
    Validations.of(this).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
      reason: 'Nothing here reads the subnets’ route tables; the VPC and its routing are the operator’s.',
    });
    const region = Stack.of(this).region;
    this.endpoints = devices.units.map((u) => ({
      name: u.name,
      baseUrl: `${this.api?.apiEndpoint}/${u.name}`,
      signing: { region },
    }));
  }

  /** Lets an agent function reach the devices: execute-api on the device routes, or the network (direct). */
  grantAccess(grantee: IGrantable & IConstruct): void {
    this.secret.grantRead(grantee);
    if (!this.api) return;
    const api = this.api;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['execute-api:Invoke'],
        resources: this.endpoints.map((e) => api.arnForExecuteApi('*', `/${e.name}/*`, '$default')),
      }),
    );
    // cdk-nag names the finding by the rendered ARN: literal partition/region when known, else the pseudo parameter.
    const stack = Stack.of(this);
    const literal = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<${pseudo}>` : value);
    const arn = `arn:${literal(stack.partition, 'AWS::Partition')}:execute-api:${literal(stack.region, 'AWS::Region')}:<AWS::AccountId>:<${stack.getLogicalId(api.node.defaultChild as CfnResource)}>`;
    // The finding is on the function's role (its own construct), not on the function.
    const role = (grantee as { role?: IConstruct }).role;
    Validations.of(role ?? grantee).acknowledge(
      ...this.endpoints.map((e) => ({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::${arn}/$default/*/${e.name}/*]`,
        reason: `Any method on any iControl REST path of device ${e.name}, and only that device, is what an agent needs.`,
      })),
    );
  }

  /** VPC placement of an agent's functions in direct mode (its own subnets: its own path). */
  placementFor(
    agent: Pick<AgentDefinition, 'host' | 'subnetIds'>,
  ): { vpc: IVpc; vpcSubnets: { subnets: ISubnet[] }; securityGroups: SecurityGroup[] } | undefined {
    if (!this.directSecurityGroup) return undefined;
    const ids = agent.subnetIds.length > 0 ? agent.subnetIds : this.vpc.privateSubnets.map((s) => s.subnetId);
    return {
      vpc: this.vpc,
      vpcSubnets: { subnets: ids.map((s) => Subnet.fromSubnetId(this, `${agent.host}-${s}`, s)) },
      securityGroups: [this.directSecurityGroup],
    };
  }
}

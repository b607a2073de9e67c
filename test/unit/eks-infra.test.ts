// k8s/eks offline: the CloudFormation stack of the data stores (every reference resolves, the data
// stores are private, encrypted and reachable from the nodes' security group only), the eksctl
// ClusterConfig, and that both agree with charts/arbees/values-eks.yaml and k8s/eks/README.md.
// (cfn-lint, which checks it against AWS's resource specifications, is not installable offline:
// k8s/eks/README.md says how to run it by hand.)
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type ScalarTag, type CollectionTag } from 'yaml';
import { packageInfo } from '../../lib/package-root.js';

const root = packageInfo().root;
const read = (...path: string[]) => readFileSync(join(root, ...path), 'utf8');

// CloudFormation's short-form intrinsics, read as their long forms ({"Ref": x}, {"Fn::GetAtt": [r, a]}, ...).
const intrinsic = (tag: string, name: string): Array<ScalarTag | CollectionTag> => [
  {
    tag: `!${tag}`,
    resolve: (value: string) => ({
      [name]: name === 'Fn::GetAtt' ? [value.slice(0, value.indexOf('.')), value.slice(value.indexOf('.') + 1)] : value,
    }),
  },
  { tag: `!${tag}`, collection: 'seq', resolve: (value) => ({ [name]: value.toJSON() as unknown }) },
];
const cfnTags = [
  ...intrinsic('Ref', 'Ref'),
  ...intrinsic('GetAtt', 'Fn::GetAtt'),
  ...intrinsic('Sub', 'Fn::Sub'),
  ...intrinsic('Join', 'Fn::Join'),
  ...intrinsic('Select', 'Fn::Select'),
  ...intrinsic('GetAZs', 'Fn::GetAZs'),
  ...intrinsic('If', 'Fn::If'),
  ...intrinsic('Equals', 'Fn::Equals'),
];

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}
interface Template {
  AWSTemplateFormatVersion: string;
  Parameters: Record<string, { Type: string; Default?: string | number }>;
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown }>;
}
const template = parse(read('k8s', 'eks', 'arbees-data.yaml'), { customTags: cfnTags }) as Template;
const cluster = parse(read('k8s', 'eks', 'cluster.yaml')) as {
  apiVersion: string;
  kind: string;
  metadata: { name: string; region: string; version: string };
  vpc: { cidr: string; clusterEndpoints: { privateAccess: boolean } };
  kubernetesNetworkConfig: { serviceIPv4CIDR: string };
  iam: { withOIDC: boolean };
  addons: Array<{ name: string; configurationValues?: string }>;
  managedNodeGroups: Array<{
    name: string;
    amiFamily: string;
    privateNetworking: boolean;
    volumeEncrypted: boolean;
    labels: Record<string, string>;
    preBootstrapCommands?: string[];
  }>;
};
const values = parse(read('charts', 'arbees', 'values-eks.yaml')) as {
  operator: { podCidr: string; serviceCidr: string; nodeSelector: Record<string, string> };
  externalRedis: { tls: boolean; port: number; auth: { existingSecret: string; passwordKey: string } };
  externalPostgresql: {
    sslMode: string;
    port: number;
    database: string;
    auth: { existingSecret: string; usernameKey: string; passwordKey: string };
  };
  networkPolicy: { apiServer: { cidrs: string[]; ports: number[] } };
  shardNamespaces: string[];
  podSecurity: { label: boolean };
};
const readme = read('k8s', 'eks', 'README.md');

/** Every value in the tree, with its path. */
function* walk(value: unknown, path = ''): Generator<[string, unknown]> {
  yield [path, value];
  if (Array.isArray(value)) for (const [i, item] of value.entries()) yield* walk(item, `${path}[${i}]`);
  else if (value && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) yield* walk(item, path ? `${path}.${key}` : key);
}
const resourcesOfType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const only = (type: string): [string, Resource] => {
  const found = resourcesOfType(type);
  expect(found, type).to.have.length(1);
  return found[0]!;
};
const ref = (name: string) => ({ Ref: name });
const getAtt = (resource: string, attribute: string) => ({ 'Fn::GetAtt': [resource, attribute] });

// The attributes each resource type has (those this template may use).
const attributes: Record<string, string[]> = {
  'AWS::EC2::SecurityGroup': ['GroupId', 'VpcId'],
  'AWS::RDS::DBInstance': ['Endpoint.Address', 'Endpoint.Port', 'DbiResourceId', 'DBInstanceArn'],
  'AWS::ElastiCache::ReplicationGroup': [
    'PrimaryEndPoint.Address',
    'PrimaryEndPoint.Port',
    'ReaderEndPoint.Address',
    'ReaderEndPoint.Port',
  ],
  'AWS::SecretsManager::Secret': ['Id'],
};
const pseudo = new Set([
  'AWS::Region',
  'AWS::AccountId',
  'AWS::StackName',
  'AWS::StackId',
  'AWS::Partition',
  'AWS::URLSuffix',
  'AWS::NoValue',
]);

describe('k8s/eks: the data stores stack (CloudFormation)', () => {
  it('is a CloudFormation template of the expected resource types', () => {
    expect(template.AWSTemplateFormatVersion).to.equal('2010-09-09');
    expect(
      Object.values(template.Resources)
        .map((r) => r.Type)
        .sort(),
    ).to.deep.equal(
      [
        'AWS::EC2::SecurityGroup',
        'AWS::EC2::SecurityGroup',
        'AWS::ElastiCache::ReplicationGroup',
        'AWS::ElastiCache::SubnetGroup',
        'AWS::RDS::DBInstance',
        'AWS::RDS::DBParameterGroup',
        'AWS::RDS::DBSubnetGroup',
        'AWS::SecretsManager::Secret',
        'AWS::SecretsManager::Secret',
        'AWS::SecretsManager::SecretTargetAttachment',
      ].sort(),
    );
  });

  it('refers only to parameters and resources it defines (Ref, GetAtt and ${} in Sub)', () => {
    const names = new Set([...Object.keys(template.Parameters), ...Object.keys(template.Resources)]);
    const problems: string[] = [];
    const checkGetAtt = (where: string, resource: string, attribute: string) => {
      const type = template.Resources[resource]?.Type;
      if (!type) problems.push(`${where}: GetAtt of unknown resource ${resource}`);
      else if (!(attributes[type] ?? []).includes(attribute))
        problems.push(`${where}: ${type} has no attribute ${attribute} (known: ${(attributes[type] ?? []).join(', ')})`);
    };
    let count = 0;
    for (const [path, node] of walk({ Resources: template.Resources, Outputs: template.Outputs })) {
      if (!node || typeof node !== 'object' || Array.isArray(node)) continue;
      const object = node as Record<string, unknown>;
      if ('Ref' in object) {
        count++;
        const target = object.Ref as string;
        if (!names.has(target) && !pseudo.has(target)) problems.push(`${path}: Ref to undefined ${target}`);
      }
      if ('Fn::GetAtt' in object) {
        count++;
        const [resource, attribute] = object['Fn::GetAtt'] as [string, string];
        checkGetAtt(path, resource, attribute);
      }
      if ('Fn::Sub' in object) {
        const text = typeof object['Fn::Sub'] === 'string' ? object['Fn::Sub'] : (object['Fn::Sub'] as [string])[0];
        for (const [, variable] of text.matchAll(/\$\{([^}!]+)\}/g)) {
          count++;
          const [name, ...attribute] = variable!.split('.');
          if (attribute.length) checkGetAtt(path, name!, attribute.join('.'));
          else if (!names.has(name!) && !pseudo.has(name!)) problems.push(`${path}: \${${variable}} is undefined`);
        }
      }
    }
    expect(problems).to.deep.equal([]);
    expect(count).to.be.greaterThan(20);
    // And every parameter is used.
    const used = JSON.stringify(template.Resources);
    expect(Object.keys(template.Parameters).filter((p) => !used.includes(`"Ref":"${p}"`) && !used.includes(`\${${p}}`))).to.deep.equal([]);
  });

  it('lets only the cluster nodes in: each data store has its own security group, open on its port from the node group SG only', () => {
    const groups = resourcesOfType('AWS::EC2::SecurityGroup');
    for (const [name, group] of groups) {
      const ingress = group.Properties.SecurityGroupIngress as Array<Record<string, unknown>>;
      expect(ingress, name).to.have.length(1);
      expect(ingress[0], name).to.deep.include({ IpProtocol: 'tcp', SourceSecurityGroupId: ref('NodeSecurityGroupId') });
      expect(ingress[0]!.FromPort, name).to.equal(ingress[0]!.ToPort);
      for (const key of ['CidrIp', 'CidrIpv6', 'SourcePrefixListId']) expect(ingress[0], name).not.to.have.property(key);
      expect(group.Properties.VpcId).to.deep.equal(ref('VpcId'));
      // Egress replaced by a rule that matches nothing.
      expect(group.Properties.SecurityGroupEgress).to.deep.equal([{ Description: 'none', IpProtocol: '-1', CidrIp: '127.0.0.1/32' }]);
    }
    expect(template.Parameters.NodeSecurityGroupId!.Type).to.equal('AWS::EC2::SecurityGroup::Id');
    // No stand-alone ingress rules that could open more.
    expect(resourcesOfType('AWS::EC2::SecurityGroupIngress')).to.deep.equal([]);

    const [, postgres] = only('AWS::RDS::DBInstance');
    const [, redis] = only('AWS::ElastiCache::ReplicationGroup');
    const portOf = (group: string) =>
      (template.Resources[group]!.Properties.SecurityGroupIngress as Array<{ FromPort: number }>)[0]!.FromPort;
    expect(postgres.Properties.VPCSecurityGroups).to.deep.equal([getAtt('PostgresSecurityGroup', 'GroupId')]);
    expect(portOf('PostgresSecurityGroup')).to.equal(values.externalPostgresql.port);
    expect(redis.Properties.SecurityGroupIds).to.deep.equal([getAtt('RedisSecurityGroup', 'GroupId')]);
    expect(portOf('RedisSecurityGroup')).to.equal(redis.Properties.Port).and.to.equal(values.externalRedis.port);
    // In the cluster's private subnets.
    expect(only('AWS::RDS::DBSubnetGroup')[1].Properties.SubnetIds).to.deep.equal(ref('PrivateSubnetIds'));
    expect(only('AWS::ElastiCache::SubnetGroup')[1].Properties.SubnetIds).to.deep.equal(ref('PrivateSubnetIds'));
    expect(template.Parameters.PrivateSubnetIds!.Type).to.equal('List<AWS::EC2::Subnet::Id>');
  });

  it('runs PostgreSQL private, encrypted, TLS-only, backed up, with a generated password', () => {
    const [name, postgres] = only('AWS::RDS::DBInstance');
    expect(postgres.Properties).to.deep.include({
      Engine: 'postgres',
      PubliclyAccessible: false,
      StorageEncrypted: true,
      DeletionProtection: true,
      DBSubnetGroupName: ref('PostgresSubnetGroup'),
    });
    expect(postgres.Properties.BackupRetentionPeriod).to.be.at.least(7);
    expect(postgres.DeletionPolicy).to.equal('Snapshot');
    expect(postgres.UpdateReplacePolicy).to.equal('Snapshot');
    // The password is never in the template: a dynamic reference to the generated secret.
    expect(postgres.Properties.MasterUserPassword).to.deep.equal({
      'Fn::Sub': '{{resolve:secretsmanager:${PostgresSecret}:SecretString:password}}',
    });
    const secret = template.Resources.PostgresSecret!.Properties.GenerateSecretString as Record<string, unknown>;
    expect(secret).to.deep.include({ GenerateStringKey: 'password', ExcludePunctuation: true });
    expect(JSON.parse(secret.SecretStringTemplate as string)).to.have.property('username');
    expect(template.Resources.PostgresSecretAttachment!.Properties).to.deep.equal({
      SecretId: ref('PostgresSecret'),
      TargetId: ref(name),
      TargetType: 'AWS::RDS::DBInstance',
    });
    // TLS enforced, and the parameter group matches the engine's major version.
    const parameters = template.Resources[(postgres.Properties.DBParameterGroupName as { Ref: string }).Ref]!.Properties;
    expect(parameters.Parameters).to.deep.equal({ 'rds.force_ssl': '1' });
    const major = String(template.Parameters.PostgresEngineVersion!.Default).split('.')[0];
    expect(parameters.Family).to.equal(`postgres${major}`);
    expect(values.externalPostgresql.sslMode).not.to.equal('disable');
    expect(template.Parameters.DatabaseName!.Default).to.equal(values.externalPostgresql.database);
  });

  it('runs Redis with TLS and an AUTH token, cluster mode disabled (a plain client on the primary endpoint)', () => {
    const [, redis] = only('AWS::ElastiCache::ReplicationGroup');
    expect(redis.Properties).to.deep.include({
      Engine: 'redis',
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      AutomaticFailoverEnabled: true,
      MultiAZEnabled: true,
    });
    expect(redis.Properties).not.to.have.property('NumNodeGroups');
    expect(redis.Properties).not.to.have.property('CacheParameterGroupName');
    expect(redis.Properties.NumCacheClusters).to.be.at.least(2);
    expect(redis.Properties.AuthToken).to.deep.equal({ 'Fn::Sub': '{{resolve:secretsmanager:${RedisAuthSecret}:SecretString:password}}' });
    const token = template.Resources.RedisAuthSecret!.Properties.GenerateSecretString as {
      PasswordLength: number;
      ExcludePunctuation: boolean;
    };
    expect(token.PasswordLength).to.be.within(16, 128); // ElastiCache's AUTH token limits
    expect(token.ExcludePunctuation).to.equal(true);
    expect(values.externalRedis.tls).to.equal(true);
  });

  it('outputs what README.md reads, and the chart values name the Secrets README.md creates', () => {
    expect(template.Outputs.PostgresEndpoint!.Value).to.deep.equal(getAtt('Postgres', 'Endpoint.Address'));
    expect(template.Outputs.RedisEndpoint!.Value).to.deep.equal(getAtt('Redis', 'PrimaryEndPoint.Address'));
    const read = [...readme.matchAll(/\$\((?:out|secret) (\w+)/g)].map((m) => m[1]!);
    expect(read).to.include.members(['RedisEndpoint', 'PostgresEndpoint', 'RedisAuthSecretArn', 'PostgresSecretArn']);
    expect(read.filter((name) => !(name in template.Outputs))).to.deep.equal([]);
    expect(readme).to.contain(
      `create secret generic ${values.externalRedis.auth.existingSecret} \\\n  --from-literal=${values.externalRedis.auth.passwordKey}=`,
    );
    expect(readme).to.contain(
      `create secret generic ${values.externalPostgresql.auth.existingSecret} \\\n  ` +
        `--from-literal=${values.externalPostgresql.auth.usernameKey}=`,
    );
    expect(readme).to.contain(`--from-literal=${values.externalPostgresql.auth.passwordKey}=`);
    for (const parameter of ['VpcId', 'PrivateSubnetIds', 'NodeSecurityGroupId']) expect(readme).to.contain(`${parameter}=$`);
  });
});

describe('k8s/eks: the cluster (eksctl ClusterConfig)', () => {
  it('is an eksctl ClusterConfig with OIDC, private nodes on AL2023, and the add-ons Arbees needs', () => {
    expect([cluster.apiVersion, cluster.kind]).to.deep.equal(['eksctl.io/v1alpha5', 'ClusterConfig']);
    expect(cluster.iam.withOIDC).to.equal(true);
    expect(cluster.vpc.clusterEndpoints.privateAccess).to.equal(true);
    expect(cluster.addons.map((a) => a.name)).to.include.members([
      'vpc-cni',
      'coredns',
      'kube-proxy',
      'eks-pod-identity-agent',
      'aws-ebs-csi-driver',
    ]);
    // NetworkPolicies (the operator's and every shard's) are enforced only with this on.
    expect(JSON.parse(cluster.addons.find((a) => a.name === 'vpc-cni')!.configurationValues ?? '{}')).to.deep.equal({
      enableNetworkPolicy: 'true',
    });
    expect(cluster.managedNodeGroups).to.have.length.above(0);
    for (const group of cluster.managedNodeGroups) {
      expect(group, group.name).to.include({ privateNetworking: true, amiFamily: 'AmazonLinux2023', volumeEncrypted: true });
      expect(group.preBootstrapCommands, group.name).to.include('modprobe tun');
    }
    // The chart's kubeVersion is >= 1.31.
    const [major, minor] = cluster.metadata.version.split('.').map(Number);
    expect(major === 1 && minor! >= 31, cluster.metadata.version).to.equal(true);
  });

  it('agrees with values-eks.yaml: pod and service ranges, API server range, node selector, shard namespaces', () => {
    // With the VPC CNI pods have VPC addresses: the VPN firewall and NetworkPolicies need these.
    expect(values.operator.podCidr).to.equal(cluster.vpc.cidr);
    expect(values.operator.serviceCidr).to.equal(cluster.kubernetesNetworkConfig.serviceIPv4CIDR);
    expect(values.networkPolicy.apiServer.cidrs).to.include(cluster.vpc.cidr);
    expect(values.networkPolicy.apiServer.ports).to.include(443);
    const selector = Object.entries(values.operator.nodeSelector);
    expect(
      cluster.managedNodeGroups.some((g) => selector.every(([k, v]) => g.labels[k] === v)),
      'a node group matches operator.nodeSelector',
    ).to.equal(true);
    expect(values.shardNamespaces.length).to.be.above(0);
    expect(values.podSecurity.label).to.equal(true);
  });
});

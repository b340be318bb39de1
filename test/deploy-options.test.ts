/**
 * The params that change which resources the stack has, each packaged offline (test/support/package.ts):
 * - `prometheusEndpoint=false`: CloudWatch only. No metrics function, function URL, public permission, role, log
 *   group, alarms or dashboard widget: absent from the template, not switched off by a condition;
 * - `alarmTopicKmsKey=create` with `alarmEmail`: the alarm topic encrypted with a customer-managed key whose policy
 *   lets CloudWatch alarms publish, and the e-mail subscription;
 * - `alarmTopicKmsKey=<key ARN>`: your key, no key created; an AWS-managed alias is refused at package time.
 * The default params: test/deploy-package.test.ts. cfn-lint on all of them: test/deploy-cfn-lint.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ensurePackaged, PACKAGE_VARIANTS, packageOnce, TEST_STAGE, type Packaged } from './support/package.js';
import { alarmRefs, dashboardBody, dashboardRefs, ofType, type Json } from './support/template.js';

const { endpointOff: ENDPOINT_OFF, secured: SECURED, ownKey: OWN_KEY } = PACKAGE_VARIANTS;
const PREFIX = `unstructured-jobs-exporter-${TEST_STAGE}`;

describe('prometheusEndpoint=false', () => {
  let pkg: Packaged;

  beforeAll(async () => {
    pkg = await ensurePackaged(ENDPOINT_OFF);
  }, 240_000);

  it('packages only the collect function', () => {
    expect(Object.keys(pkg.zips)).toEqual(['collect']);
    expect(ofType(pkg.template, 'AWS::Lambda::Function').map(([id]) => id)).toEqual(['CollectLambdaFunction']);
    expect(ofType(pkg.template, 'AWS::IAM::Role').map(([id]) => id)).toEqual(['CollectRole']);
    expect(ofType(pkg.template, 'AWS::Logs::LogGroup').map(([id]) => id)).toEqual(['CollectLogGroup']);
  });

  it('has no function URL, no public permission and no trace of the metrics function', () => {
    expect(ofType(pkg.template, 'AWS::Lambda::Url')).toEqual([]);
    const permissions = ofType(pkg.template, 'AWS::Lambda::Permission').map(([, p]) => p.Properties);
    expect(permissions).toEqual([
      expect.objectContaining({ Principal: 'events.amazonaws.com', Action: 'lambda:InvokeFunction' }),
    ]);
    expect(pkg.templateText).not.toMatch(/MetricsLambda|MetricsRole|MetricsLogGroup|MetricsFunction/);
    expect(pkg.templateText).not.toContain('METRICS_TOKEN_PARAM');
    expect(Object.keys(pkg.template.Outputs).sort()).toEqual([
      'AlarmTopicArn',
      'DashboardName',
      'DashboardUrl',
      'ServerlessDeploymentBucketName',
    ]);
    expect(pkg.template.Conditions).toBeUndefined();
  });

  it('keeps the CloudWatch side whole: the collector, its alarms and a dashboard without the metrics function', () => {
    const alarms = ofType(pkg.template, 'AWS::CloudWatch::Alarm')
      .map(([id]) => id)
      .sort();
    expect(alarms).toEqual(
      [
        'CollectFunctionErrorsAlarm',
        'CollectFunctionThrottlesAlarm',
        'CollectorUnhealthyAlarm',
        'FailedJobsAlarm',
        'FilesFailedAlarm',
        'JobRunningTooLongAlarm',
        'JobScheduledTooLongAlarm',
        'RuntimeP95Alarm',
        'ScheduleMissedAlarm',
      ].sort(),
    );
    const body = dashboardBody(pkg.template);
    const listed = (body.widgets as Json[]).find((w) => w.type === 'alarm').properties.alarms as string[];
    expect(listed.map((arn) => arn.slice(arn.lastIndexOf(':') + 1)).sort()).toEqual(alarms);
    const functionRefs = [...dashboardRefs(body), ...alarmRefs(pkg.template)].filter(
      (r) => r.namespace === 'AWS/Lambda',
    );
    expect(new Set(functionRefs.map((r) => r.dimensionValues.FunctionName))).toEqual(
      new Set(['CollectLambdaFunction-physical-id', JSON.stringify({ Ref: 'CollectLambdaFunction' })]),
    );
  });
});

describe('alarmTopicKmsKey=create, alarmEmail set', () => {
  let pkg: Packaged;
  let resources: Record<string, Json>;

  beforeAll(async () => {
    pkg = await ensurePackaged(SECURED);
    resources = pkg.template.Resources;
  }, 240_000);

  it('encrypts the alarm topic with a key of its own, rotated, with an alias', () => {
    expect(resources.AlarmTopic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': ['AlarmTopicKey', 'Arn'] });
    expect(resources.AlarmTopicKey).toMatchObject({ Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } });
    expect(resources.AlarmTopicKeyAlias.Properties).toEqual({
      AliasName: `alias/${PREFIX}-alarms`,
      TargetKeyId: { Ref: 'AlarmTopicKey' },
    });
  });

  it('lets CloudWatch alarms of this stack (and only CloudWatch, for this account) use the key to publish', () => {
    const statements = resources.AlarmTopicKey.Properties.KeyPolicy.Statement as Json[];
    const cloudwatch = statements.filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(cloudwatch).toEqual([
      {
        Sid: 'CloudWatchAlarmsPublishToTheTopic',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: {
            'aws:SourceArn': {
              'Fn::Sub': `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:${PREFIX}-*`,
            },
          },
        },
      },
    ]);
    // Every alarm of the stack is covered by that name pattern.
    for (const [id, alarm] of ofType(pkg.template, 'AWS::CloudWatch::Alarm'))
      expect(alarm.Properties.AlarmName, id).toMatch(new RegExp(`^${PREFIX}-`));
    // The rest of the policy: the account's IAM policies decide (the key policy AWS gives a key by default).
    expect(statements.filter((s) => s !== cloudwatch[0])).toEqual([
      {
        Sid: 'AccountIamPolicies',
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
        Action: 'kms:*',
        Resource: '*',
      },
    ]);
  });

  it('subscribes the e-mail address to the topic', () => {
    const subscriptions = ofType(pkg.template, 'AWS::SNS::Subscription');
    expect(subscriptions.map(([, s]) => s.Properties)).toEqual([
      { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: SECURED.alarmEmail },
    ]);
    expect(subscriptions[0]?.[1].Condition).toBeUndefined();
  });
});

describe('alarmTopicKmsKey with a key of your own', () => {
  it('uses the key ARN as given and creates no key', async () => {
    const pkg = await ensurePackaged(OWN_KEY);
    expect(pkg.template.Resources.AlarmTopic.Properties.KmsMasterKeyId).toBe(OWN_KEY.alarmTopicKmsKey);
    expect(ofType(pkg.template, 'AWS::KMS::Key')).toEqual([]);
  }, 240_000);

  it.each(['alias/aws/sns', 'arn:aws:kms:us-east-1:123456789012:alias/aws/sns'])(
    'refuses %s at package time, saying why',
    async (value) => {
      const { code, output } = await packageOnce({ alarmTopicKmsKey: value }, 'options');
      expect(code).not.toBe(0);
      expect(output).toContain("alarmTopicKmsKey must be empty, 'create' or the ARN of a customer-managed KMS key");
    },
    120_000,
  );

  it('refuses a prometheusEndpoint that is not a boolean', async () => {
    const { code, output } = await packageOnce({ prometheusEndpoint: 'maybe' }, 'options');
    expect(code).not.toBe(0);
    expect(output).toContain('strToBool');
  }, 120_000);
});

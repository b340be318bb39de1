/**
 * The deployment as CloudFormation sees it: `osls package --stage test` (offline, no credentials; shared with
 * the other packaging tests through test/support/package.ts), then assertions on the generated template:
 * schedule, function URL, functions and their environment, no secret anywhere, least-privilege IAM, log
 * retention, the finished-job events state bucket, alarms, SNS, dashboard.
 *
 * Last, every metric an alarm or the dashboard reads (name, dimension names and values, SEARCH schemas) is
 * checked against what the real publisher emits: a collection and finished-job events (docs/events.md) are
 * published to moto (a local CloudWatch) with the deployed function's own configuration, and moto's ListMetrics
 * is the reference; and against the metric list of the dry run (`collect --sink cloudwatch --dry-run`).
 * The other param combinations (no Prometheus endpoint, KMS, e-mail): test/deploy-options.test.ts.
 */
import { renderOutcomeUnits } from '../lib/events/outcome-datums.js';
import { execFileSync } from 'node:child_process';
import type { Metric } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../lib/aggregate/aggregator.js';
import { DEPLOYED_COLLECT_DEFAULTS, estimateCost } from '../lib/outputs/cloudwatch/cost.js';
import { workflowDimensionValue } from '../lib/outputs/cloudwatch/datums.js';
import { publishDatums } from '../lib/outputs/cloudwatch/publisher.js';
import { publishCollection } from '../lib/outputs/cloudwatch/run.js';
import { loadCloudWatchSettings } from '../lib/outputs/cloudwatch/settings.js';
import type { Collection } from '../lib/collection.js';
import { DEFAULT_MAX_RESPONSE_BYTES, loadConfig, parseDurationSetting } from '../lib/config.js';
import { DEFAULT_STATE_KEY, loadEventsConfig } from '../lib/events/config.js';
import { renderEventUnits } from '../lib/events/datums.js';
import type { FinishedEvent } from '../lib/events/state.js';
import { job } from './support/jobs.js';
import { workflowInventory } from '../lib/aggregate/workflow-health.js';
import { noWorkflowSkips, type Workflow } from '../lib/records/workflow.js';
import { cloudWatchClientFor, listMetrics, startMoto, type RunningMoto } from './support/moto.js';
import { ensurePackaged, PACKAGING_SECRETS, TEST_STAGE, type Packaged } from './support/package.js';
import {
  alarmRefs,
  asArray,
  dashboardBody as bodyOf,
  dashboardRefs,
  evaluateSub as subOf,
  metricRows,
  parseSearch,
  type MetricRef,
} from './support/template.js';

const SERVICE = 'unstructured-jobs-exporter';
const PREFIX = `${SERVICE}-${TEST_STAGE}`;
const NAMESPACE = 'Unstructured/Jobs';
const API_KEY_PARAM = `/${SERVICE}/${TEST_STAGE}/api-key`;
const METRICS_TOKEN_PARAM = `/${SERVICE}/${TEST_STAGE}/metrics-token`;
const STATE_KEY = 'state/finished-jobs.json';
const ALARMS = [
  'CollectorUnhealthyAlarm',
  'FailedJobsAlarm',
  'FilesFailedAlarm',
  'JobScheduledTooLongAlarm',
  'JobRunningTooLongAlarm',
  'RuntimeP95Alarm',
  'CollectFunctionErrorsAlarm',
  'CollectFunctionThrottlesAlarm',
  'ScheduleMissedAlarm',
  'MetricsFunctionErrorsAlarm',
  'MetricsFunctionThrottlesAlarm',
] as const;

// biome-ignore lint/suspicious/noExplicitAny: parsed CloudFormation/serverless JSON, read by path
type Json = any;

let pkg: Packaged;
let resources: Record<string, Json>;

beforeAll(async () => {
  pkg = await ensurePackaged();
  resources = pkg.template.Resources as Record<string, Json>;
  console.info(
    `[deploy-package] ${pkg.reused ? 'reused the package' : `packaged in ${pkg.packageMs} ms`} (${pkg.dir})`,
  );
}, 240_000);

function ofType(type: string): [string, Json][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function fn(logicalId: 'MetricsLambdaFunction' | 'CollectLambdaFunction'): Json {
  const r = resources[logicalId];
  expect(r, logicalId).toBeDefined();
  return r.Properties;
}

/** `Fn::Sub` as CloudFormation would evaluate it, with fake account values. */
function evaluateSub(sub: Json): string {
  return subOf(pkg.template, sub);
}

// ---------------------------------------------------------------------------------------------------------

describe('functions', () => {
  it('runs both on nodejs22.x arm64 with the planned memory, timeout and handler, each capped by reserved concurrency', () => {
    const metrics = fn('MetricsLambdaFunction');
    const collect = fn('CollectLambdaFunction');
    // The defaults of docs/performance.md's sizing (512 MB up to a few hundred thousand jobs).
    expect(metrics).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 30,
      Handler: 'functions/metrics.handler',
      FunctionName: `${PREFIX}-metrics`,
    });
    expect(collect).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 60,
      Handler: 'functions/collect.handler',
      FunctionName: `${PREFIX}-collect`,
    });
    expect(collect.ReservedConcurrentExecutions).toBe(1);
    // A flood of requests on the public URL is throttled past 2 instances instead of scaling out.
    expect(metrics.ReservedConcurrentExecutions).toBe(2);
    const [, invokeConfig] = ofType('AWS::Lambda::EventInvokeConfig')[0] ?? [];
    expect(invokeConfig?.Properties).toMatchObject({
      FunctionName: { Ref: 'CollectLambdaFunction' },
      MaximumRetryAttempts: 0,
    });
  });

  it('packages each function individually (a zip of its own in the template)', () => {
    expect(Object.keys(pkg.zips).sort()).toEqual(['collect', 'metrics']);
    expect(fn('MetricsLambdaFunction').Code.S3Key).toMatch(/\/metrics\.zip$/);
    expect(fn('CollectLambdaFunction').Code.S3Key).toMatch(/\/collect\.zip$/);
  });

  it('gives the functions SSM parameter names (never secrets), and a configuration the exporter accepts', () => {
    const metricsEnv = fn('MetricsLambdaFunction').Environment.Variables as Record<string, string>;
    const collectEnv = fn('CollectLambdaFunction').Environment.Variables as Record<string, string>;
    expect(metricsEnv).toMatchObject({
      UNSTRUCTURED_API_KEY_PARAM: API_KEY_PARAM,
      METRICS_TOKEN_PARAM,
      MAX_WORKFLOWS: '20',
      RUNTIME_WINDOW: '24h',
    });
    expect(collectEnv).toMatchObject({
      UNSTRUCTURED_API_KEY_PARAM: API_KEY_PARAM,
      CLOUDWATCH_NAMESPACE: NAMESPACE,
      MAX_WORKFLOWS: '20',
      RUNTIME_WINDOW: '24h',
    });
    expect(collectEnv).not.toHaveProperty('METRICS_TOKEN_PARAM');
    // The pull's byte cap, from the maxResponseBytes param, in both functions: the default, as a size loadConfig reads.
    for (const env of [metricsEnv, collectEnv]) {
      expect(env).toMatchObject({ MAX_RESPONSE_BYTES: '1GiB' });
      expect(loadConfig(env).maxResponseBytes).toBe(DEFAULT_MAX_RESPONSE_BYTES);
    }
    // The per-workflow metrics the events make redundant: auto (= off, the events being on).
    expect(collectEnv).toMatchObject({
      CLOUDWATCH_WORKFLOW_QUANTILES: 'auto',
      CLOUDWATCH_WORKFLOW_TERMINAL_JOBS: 'auto',
    });
    expect(loadCloudWatchSettings(collectEnv, { eventsOn: true })).toEqual({
      workflowRuntimeQuantiles: false,
      workflowTerminalJobs: false,
    });
    for (const name of ['CLOUDWATCH_WORKFLOW_QUANTILES', 'CLOUDWATCH_WORKFLOW_TERMINAL_JOBS'])
      expect(metricsEnv).not.toHaveProperty(name);
    expect(metricsEnv).not.toHaveProperty('CLOUDWATCH_NAMESPACE');
    for (const env of [metricsEnv, collectEnv]) {
      expect(env).not.toHaveProperty('UNSTRUCTURED_API_KEY');
      expect(env).not.toHaveProperty('METRICS_TOKEN');
      expect(() => loadConfig(env)).not.toThrow();
    }
    // Finished-job events: the state bucket by Ref (CloudFormation names it), the rest from the params.
    expect(collectEnv).toMatchObject({
      STATE_BUCKET: { Ref: 'EventsStateBucket' },
      STATE_KEY,
      EVENTS_RETENTION: '7d',
      EVENTS_BACKFILL: '1h',
    });
    expect(STATE_KEY).toBe(DEFAULT_STATE_KEY);
    expect(loadEventsConfig({ ...collectEnv, STATE_BUCKET: 'uje-state-bucket-physical-id' })).toEqual({
      stateBucket: 'uje-state-bucket-physical-id',
      stateKey: STATE_KEY,
      retentionSeconds: 7 * 86_400,
      backfillSeconds: 3_600,
    });
    for (const name of ['STATE_BUCKET', 'STATE_KEY', 'EVENTS_RETENTION', 'EVENTS_BACKFILL'])
      expect(metricsEnv).not.toHaveProperty(name);
    // The pull gives up before Lambda kills the function, with time left to answer / publish.
    expect(parseDurationSetting('PULL_DEADLINE', metricsEnv.PULL_DEADLINE ?? '25s')).toBeLessThan(
      fn('MetricsLambdaFunction').Timeout,
    );
    expect(parseDurationSetting('PULL_DEADLINE', collectEnv.PULL_DEADLINE ?? '25s')).toBeLessThan(
      fn('CollectLambdaFunction').Timeout,
    );
  });

  it("gives the dry run the deployed collect function's defaults (DEPLOYED_COLLECT_DEFAULTS)", () => {
    const collectEnv = fn('CollectLambdaFunction').Environment.Variables as Record<string, string>;
    expect(collectEnv).toMatchObject(DEPLOYED_COLLECT_DEFAULTS.env);
    expect(ofType('AWS::Events::Rule')[0]?.[1].Properties.ScheduleExpression).toBe(DEPLOYED_COLLECT_DEFAULTS.schedule);
    expect(collectEnv.STATE_BUCKET !== undefined).toBe(DEPLOYED_COLLECT_DEFAULTS.events);
  });

  it('tags both functions and the stack from the tags param', () => {
    const tags = { application: 'unstructured-jobs-exporter' };
    for (const id of ['MetricsLambdaFunction', 'CollectLambdaFunction'] as const) {
      expect(fn(id).Tags, id).toEqual(Object.entries(tags).map(([Key, Value]) => ({ Key, Value })));
    }
    // Stack tags go with the CreateStack/UpdateStack call (CloudFormation passes them to every resource that takes tags).
    expect(pkg.state.service.provider.stackTags).toEqual(tags);
  });

  it('has no secret from the packaging environment in the template or the zips', () => {
    const zipText = Object.values(pkg.zips).map((zip) =>
      execFileSync('unzip', ['-p', zip], { maxBuffer: 64 * 1024 * 1024 }).toString('latin1'),
    );
    for (const secret of Object.values(PACKAGING_SECRETS)) {
      expect(pkg.templateText).not.toContain(secret);
      for (const text of zipText) expect(text).not.toContain(secret);
    }
  });
});

describe('triggers', () => {
  it('runs collect on an EventBridge schedule at the stage rate', () => {
    const rules = ofType('AWS::Events::Rule');
    expect(rules).toHaveLength(1);
    const [ruleId, rule] = rules[0] as [string, Json];
    expect(rule.Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' });
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': ['CollectLambdaFunction', 'Arn'] } }),
    ]);
    const permissions = ofType('AWS::Lambda::Permission').map(([, p]) => p.Properties);
    expect(permissions).toContainEqual(
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
      }),
    );
  });

  it('puts metrics behind a function URL with AuthType NONE and only the permissions a URL needs', () => {
    const urls = ofType('AWS::Lambda::Url');
    expect(urls).toHaveLength(1);
    const [urlId, url] = urls[0] as [string, Json];
    expect(url.Properties).toMatchObject({
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': ['MetricsLambdaFunction', 'Arn'] },
    });
    expect(url.Properties.Cors).toBeUndefined();
    const metricsPermissions = ofType('AWS::Lambda::Permission')
      .map(([, p]) => p.Properties)
      .filter((p) => JSON.stringify(p.FunctionName).includes('MetricsLambdaFunction'));
    expect(metricsPermissions).toHaveLength(2);
    expect(metricsPermissions).toContainEqual(
      expect.objectContaining({ Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE' }),
    );
    expect(metricsPermissions).toContainEqual(
      expect.objectContaining({ Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true }),
    );
    expect(Object.values(pkg.template.Outputs as Record<string, Json>)).toContainEqual(
      expect.objectContaining({ Value: { 'Fn::GetAtt': [urlId, 'FunctionUrl'] } }),
    );
  });
});

describe('IAM: least privilege, one role per function', () => {
  interface Statement {
    Sid?: string;
    Effect: string;
    Action?: string | string[];
    NotAction?: unknown;
    Resource?: Json;
    NotResource?: unknown;
    Condition?: Record<string, Record<string, Json>>;
  }

  function statementsOf(roleId: string): Statement[] {
    const role = resources[roleId];
    expect(role?.Type, roleId).toBe('AWS::IAM::Role');
    expect(role.Properties.ManagedPolicyArns ?? []).toEqual([]);
    return (role.Properties.Policies as Json[]).flatMap((p) => asArray(p.PolicyDocument.Statement) as Statement[]);
  }

  function allowed(statements: Statement[], action: string): Statement[] {
    return statements.filter((s) => asArray(s.Action).includes(action));
  }

  function subs(resource: Json): string[] {
    return asArray(resource).map((r: Json) => (typeof r === 'string' ? r : evaluateSub(r['Fn::Sub'])));
  }

  it('gives each function its own role and creates no shared default role', () => {
    expect(fn('MetricsLambdaFunction').Role).toEqual({ 'Fn::Sub': '${MetricsRole.Arn}' });
    expect(fn('CollectLambdaFunction').Role).toEqual({ 'Fn::Sub': '${CollectRole.Arn}' });
    // The reference orders role before function; no DependsOn repeats it (cfn-lint W3005).
    expect(resources.MetricsLambdaFunction.DependsOn).toEqual(['MetricsLogGroup']);
    expect(resources.CollectLambdaFunction.DependsOn).toEqual(['CollectLogGroup']);
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
    expect(
      ofType('AWS::IAM::Role')
        .map(([id]) => id)
        .sort(),
    ).toEqual(['CollectRole', 'MetricsRole']);
    expect(ofType('AWS::IAM::Policy')).toEqual([]);
    expect(ofType('AWS::IAM::ManagedPolicy')).toEqual([]);
    for (const id of ['MetricsRole', 'CollectRole']) {
      expect(resources[id].Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]);
    }
  });

  it('allows no wildcard action, no NotAction/NotResource, no Deny-less surprises', () => {
    for (const roleId of ['MetricsRole', 'CollectRole']) {
      for (const s of statementsOf(roleId)) {
        expect(s.Effect).toBe('Allow');
        expect(s.NotAction).toBeUndefined();
        expect(s.NotResource).toBeUndefined();
        for (const action of asArray(s.Action)) expect(action, `${roleId} ${s.Sid}`).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
        // "*" as the resource only where the action has no resource-level permissions.
        if (JSON.stringify(s.Resource).includes('"*"')) expect(asArray(s.Action)).toEqual(['cloudwatch:PutMetricData']);
      }
    }
  });

  it('lets each function write its own log group only', () => {
    for (const [roleId, logGroup] of [
      ['MetricsRole', 'MetricsLogGroup'],
      ['CollectRole', 'CollectLogGroup'],
    ] as const) {
      const statements = statementsOf(roleId).filter((s) => asArray(s.Action).some((a) => a.startsWith('logs:')));
      expect(statements).toHaveLength(1);
      expect(statements[0]).toMatchObject({
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [{ 'Fn::GetAtt': [logGroup, 'Arn'] }],
      });
    }
  });

  it('scopes cloudwatch:PutMetricData to the namespace, and only for collect', () => {
    const collect = allowed(statementsOf('CollectRole'), 'cloudwatch:PutMetricData');
    expect(collect).toHaveLength(1);
    expect(collect[0]).toMatchObject({
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': NAMESPACE } },
    });
    const metricsActions = statementsOf('MetricsRole').flatMap((s) => asArray(s.Action));
    expect(metricsActions.filter((a) => a.startsWith('cloudwatch:'))).toEqual([]);
    const collectActions = statementsOf('CollectRole').flatMap((s) => asArray(s.Action));
    expect(collectActions.filter((a) => a.startsWith('cloudwatch:'))).toEqual(['cloudwatch:PutMetricData']);
  });

  it('lets ssm:GetParameter read exactly the parameters each function uses', () => {
    const arn = (name: string) => `arn:aws:ssm:us-east-1:123456789012:parameter${name}`;
    const read = (roleId: string) => allowed(statementsOf(roleId), 'ssm:GetParameter');
    // metrics pulls the job list (API key) and checks the bearer token; collect only pulls.
    expect(
      read('MetricsRole')
        .flatMap((s) => subs(s.Resource))
        .sort(),
    ).toEqual([arn(API_KEY_PARAM), arn(METRICS_TOKEN_PARAM)].sort());
    expect(read('CollectRole').flatMap((s) => subs(s.Resource))).toEqual([arn(API_KEY_PARAM)]);
    for (const roleId of ['MetricsRole', 'CollectRole']) {
      const ssmActions = statementsOf(roleId)
        .flatMap((s) => asArray(s.Action))
        .filter((a) => a.startsWith('ssm:'));
      expect(ssmActions).toEqual(['ssm:GetParameter']);
    }
  });

  it('lets collect read and write the one state object, and list only its key; metrics has no S3 permission', () => {
    const s3 = statementsOf('CollectRole').filter((s) => asArray(s.Action).some((a) => a.startsWith('s3:')));
    expect(s3).toHaveLength(2);
    const object = s3.find((s) => asArray(s.Action).includes('s3:GetObject'));
    const bucket = s3.find((s) => asArray(s.Action).includes('s3:ListBucket'));
    expect(object?.Action).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(object?.Resource).toEqual([{ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::\${EventsStateBucket}/${STATE_KEY}` }]);
    expect(subs(object?.Resource)).toEqual([`arn:aws:s3:::EventsStateBucket-physical-id/${STATE_KEY}`]);
    expect(object?.Condition).toBeUndefined();
    expect(bucket?.Action).toEqual(['s3:ListBucket']);
    expect(bucket?.Resource).toEqual([{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${EventsStateBucket}' }]);
    expect(subs(bucket?.Resource)).toEqual(['arn:aws:s3:::EventsStateBucket-physical-id']);
    expect(bucket?.Condition).toEqual({ StringEquals: { 's3:prefix': STATE_KEY } });
    const metricsActions = statementsOf('MetricsRole').flatMap((s) => asArray(s.Action));
    expect(metricsActions.filter((a) => a.startsWith('s3:'))).toEqual([]);
    expect(JSON.stringify(resources.MetricsRole)).not.toContain('EventsStateBucket');
  });

  it('allows kms:Decrypt only through SSM in this region, on the SSM key', () => {
    for (const roleId of ['MetricsRole', 'CollectRole']) {
      const kms = statementsOf(roleId).filter((s) => asArray(s.Action).some((a) => a.startsWith('kms:')));
      expect(kms).toHaveLength(1);
      const [s] = kms as [Statement];
      expect(s.Action).toEqual(['kms:Decrypt']);
      expect(subs(s.Resource)).toEqual(['arn:aws:kms:us-east-1:123456789012:key/*']);
      expect(evaluateSub(s.Condition?.StringEquals?.['kms:ViaService']['Fn::Sub'])).toBe('ssm.us-east-1.amazonaws.com');
      expect(s.Condition?.['ForAnyValue:StringEquals']).toEqual({ 'kms:ResourceAliases': 'alias/aws/ssm' });
    }
  });
});

describe('logs', () => {
  it('keeps each function log for 30 days', () => {
    const groups = Object.fromEntries(ofType('AWS::Logs::LogGroup').map(([id, g]) => [id, g.Properties]));
    expect(groups).toEqual({
      MetricsLogGroup: { LogGroupName: `/aws/lambda/${PREFIX}-metrics`, RetentionInDays: 30 },
      CollectLogGroup: { LogGroupName: `/aws/lambda/${PREFIX}-collect`, RetentionInDays: 30 },
    });
  });
});

describe('finished-job events state bucket', () => {
  it('is one private, encrypted, versioned bucket, retained with the stack deleted or replaced', () => {
    // Besides the framework's own deployment bucket (where the zips are uploaded).
    expect(
      ofType('AWS::S3::Bucket')
        .map(([id]) => id)
        .sort(),
    ).toEqual(['EventsStateBucket', 'ServerlessDeploymentBucket']);
    const bucket = resources.EventsStateBucket;
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
    const p = bucket.Properties;
    // CloudFormation names it (no fixed BucketName: no collision across stages or accounts).
    expect(p.BucketName).toBeUndefined();
    expect(p.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(p.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(p.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(p.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    // Old versions of the state (kept to restore a corrupted one) expire.
    expect(p.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({
        Status: 'Enabled',
        NoncurrentVersionExpiration: { NoncurrentDays: 2, NewerNoncurrentVersions: 20 },
      }),
    ]);
  });

  it('refuses every request not made over TLS (bucket policy)', () => {
    const policies = ofType('AWS::S3::BucketPolicy').filter(
      ([, p]) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: 'EventsStateBucket' }),
    );
    expect(policies.map(([id]) => id)).toEqual(['EventsStateBucketPolicy']);
    const [, policy] = policies[0] as [string, Json];
    expect(policy.Properties.Bucket).toEqual({ Ref: 'EventsStateBucket' });
    expect(asArray(policy.Properties.PolicyDocument.Statement)).toEqual([
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [{ 'Fn::GetAtt': ['EventsStateBucket', 'Arn'] }, { 'Fn::Sub': '${EventsStateBucket.Arn}/*' }],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ]);
  });
});

describe('notifications and alarms', () => {
  it('creates an SNS topic, unencrypted and without a subscription by default (alarmEmail, alarmTopicKmsKey empty)', () => {
    expect(ofType('AWS::SNS::Topic').map(([id]) => id)).toEqual(['AlarmTopic']);
    expect(resources.AlarmTopic.Properties.KmsMasterKeyId).toBeUndefined();
    // Decided at package time (deploy/package-conditions.cjs): absent, not a CloudFormation condition on constants.
    expect(ofType('AWS::SNS::Subscription')).toEqual([]);
    expect(ofType('AWS::KMS::Key')).toEqual([]);
    expect(pkg.template.Conditions).toBeUndefined();
    expect(pkg.templateText).not.toContain('Fn::If');
    expect(pkg.template.Outputs.AlarmTopicArn.Value).toEqual({ Ref: 'AlarmTopic' });
  });

  it('has the eleven alarms, each notifying the topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm');
    expect(alarms.map(([id]) => id).sort()).toEqual([...ALARMS].sort());
    for (const [id, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions, id).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(alarm.Properties.OKActions, id).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(alarm.Properties.AlarmName, id).toMatch(new RegExp(`^${PREFIX}-`));
    }
  });

  it('alarms when the collector is down or silent (CollectorUp < 1 in 2 of 3 periods, missing = breaching)', () => {
    expect(resources.CollectorUnhealthyAlarm.Properties).toMatchObject({
      Namespace: NAMESPACE,
      MetricName: 'CollectorUp',
      Statistic: 'Minimum',
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('alarms on FAILED jobs: Sum of JobsFinished{Status=FAILED} > threshold in any of the last 3 periods, missing = not breaching', () => {
    const p = resources.FailedJobsAlarm.Properties;
    expect(p).toMatchObject({
      Namespace: NAMESPACE,
      MetricName: 'JobsFinished',
      Dimensions: [{ Name: 'Status', Value: 'FAILED' }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
      OKActions: [{ Ref: 'AlarmTopic' }],
    });
    // A single-metric alarm: no metric math, no percentile or extended statistic.
    expect(p.Metrics).toBeUndefined();
    expect(p.ExtendedStatistic).toBeUndefined();
    expect(p.AlarmDescription).toContain('JobsFinished{Status=FAILED}');
  });

  it('alarms on the p95 runtime of the jobs COMPLETED within an hour: JobRuntime p95 (exact, from the raw values)', () => {
    const p = resources.RuntimeP95Alarm.Properties;
    expect(p).toMatchObject({
      Namespace: NAMESPACE,
      MetricName: 'JobRuntime',
      Dimensions: [{ Name: 'Status', Value: 'COMPLETED' }],
      ExtendedStatistic: 'p95',
      EvaluateLowSampleCountPercentile: 'evaluate',
      Period: 3600,
      EvaluationPeriods: 1,
      Threshold: 3600,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(p.Statistic).toBeUndefined();
  });

  it.each([
    ['CollectFunctionErrorsAlarm', 'Errors', 'CollectLambdaFunction'],
    ['CollectFunctionThrottlesAlarm', 'Throttles', 'CollectLambdaFunction'],
    ['MetricsFunctionErrorsAlarm', 'Errors', 'MetricsLambdaFunction'],
    ['MetricsFunctionThrottlesAlarm', 'Throttles', 'MetricsLambdaFunction'],
  ])('%s: AWS/Lambda %s of %s, Sum > 0 in 2 of 3 periods', (id, metricName, functionId) => {
    expect(resources[id].Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: metricName,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it.each([
    ['JobScheduledTooLongAlarm', 'OldestJobAge', 'SCHEDULED', 1800],
    ['JobRunningTooLongAlarm', 'OldestJobAge', 'IN_PROGRESS', 14400],
  ])('%s: %s{Status=%s} Maximum > %d', (id, metricName, status, threshold) => {
    expect(resources[id].Properties).toMatchObject({
      Namespace: NAMESPACE,
      MetricName: metricName,
      Dimensions: [{ Name: 'Status', Value: status }],
      Statistic: 'Maximum',
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Dashboard

function dashboardBody(): Json {
  return bodyOf(pkg.template);
}

describe('dashboard', () => {
  it('is named after the service and stage, and exported', () => {
    const [, dashboard] = ofType('AWS::CloudWatch::Dashboard')[0] as [string, Json];
    expect(dashboard.Properties.DashboardName).toBe(PREFIX);
    expect(pkg.template.Outputs.DashboardName.Value).toEqual({ Ref: 'Dashboard' });
  });

  it('is valid JSON once CloudFormation fills it in, with region and namespace set', () => {
    const body = dashboardBody();
    for (const widget of body.widgets as Json[]) {
      if (widget.type === 'metric') expect(widget.properties.region).toBe('us-east-1');
      for (const key of ['x', 'y', 'width', 'height']) expect(typeof widget[key]).toBe('number');
    }
  });

  it('shows every alarm', () => {
    const alarmWidgets = (dashboardBody().widgets as Json[]).filter((w) => w.type === 'alarm');
    expect(alarmWidgets).toHaveLength(1);
    expect(alarmWidgets[0].properties.alarms).toEqual(
      ALARMS.map((a) => `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${a}`),
    );
  });

  it('charts Jobs by status, ages, runtime quantiles, the collector and per-workflow SEARCH panels', () => {
    const ours = dashboardRefs(dashboardBody()).filter((r) => r.namespace === NAMESPACE);
    const keys = new Set(
      ours.map(
        (r) =>
          `${r.metricName}{${Object.entries(r.dimensionValues)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}|${r.dimensionNames.join(',')}}`,
      ),
    );
    for (const status of ['SCHEDULED', 'IN_PROGRESS', 'COMPLETED', 'STOPPED', 'FAILED'])
      expect(keys).toContain(`Jobs{Status=${status}|Status}`);
    for (const status of ['SCHEDULED', 'IN_PROGRESS']) expect(keys).toContain(`OldestJobAge{Status=${status}|Status}`);
    for (const q of ['P50', 'P95', 'P99']) expect(keys).toContain(`RecentJobRuntime${q}{Status=COMPLETED|Status}`);
    for (const name of ['CollectorUp', 'JobsFetched', 'RecordsSkipped', 'CollectionDuration'])
      expect(keys).toContain(`${name}{|}`);
    // Finished-job events (docs/events.md).
    expect(keys).toContain('JobsFinished{Status=FAILED|Status,Workflow}');
    for (const status of ['COMPLETED', 'FAILED', 'STOPPED'])
      expect(keys).toContain(`JobsFinished{Status=${status}|Status}`);
    expect(keys).toContain('JobRuntime{Status=COMPLETED|Status}');
    expect(keys).toContain('JobRuntime{Status=COMPLETED|Status,Workflow}');
  });

  it('charts exact JobRuntime percentiles (p50/p95/p99 per hour) and JobsFinished as a Sum', () => {
    const widgets = (dashboardBody().widgets as Json[]).filter((w) => w.type === 'metric');
    const finished = widgets.find((w) => (w.properties.metrics as Json[][]).some((row) => row[1] === 'JobsFinished'));
    expect(finished?.properties).toMatchObject({ stat: 'Sum', period: 300 });
    const runtime = widgets.find((w) => (w.properties.metrics as Json[][]).some((row) => row[1] === 'JobRuntime'));
    expect(runtime?.properties.period).toBe(3600);
    expect(((runtime?.properties.metrics ?? []) as Json[][]).map((row) => row[4]?.stat)).toEqual(['p50', 'p95', 'p99']);
    expect(runtime?.properties.annotations.horizontal).toEqual([{ label: 'alarm: runtime-p95', value: 3600 }]);
  });

  it("draws each alarm's line once, on a widget charting the metric it watches with its statistic and period", () => {
    const alarms = new Map(
      ofType('AWS::CloudWatch::Alarm').map(([, a]) => [
        String(a.Properties.AlarmName).slice(`${PREFIX}-`.length),
        a.Properties as Json,
      ]),
    );
    const drawn: string[] = [];
    const problems: string[] = [];
    for (const widget of (dashboardBody().widgets as Json[]).filter((w) => w.type === 'metric')) {
      for (const line of (widget.properties.annotations?.horizontal ?? []) as Json[]) {
        const name = /^alarm: (.+)$/.exec(String(line.label))?.[1];
        const alarm = name === undefined ? undefined : alarms.get(name);
        if (alarm === undefined) {
          problems.push(`${widget.properties.title}: line ${JSON.stringify(line.label)} names no alarm`);
          continue;
        }
        drawn.push(name as string);
        if (line.value !== alarm.Threshold)
          problems.push(`${name}: line at ${line.value}, alarm threshold ${alarm.Threshold}`);
        const dims = Object.fromEntries(
          asArray(alarm.Dimensions as Json[]).map((d) => [
            d.Name,
            typeof d.Value === 'string' ? d.Value : evaluateSub(`\${${d.Value.Ref}}`),
          ]),
        );
        const same = metricRows(widget).filter(
          (r) =>
            r.namespace === alarm.Namespace &&
            r.metricName === alarm.MetricName &&
            JSON.stringify(r.dimensionValues) === JSON.stringify(dims) &&
            r.stat === (alarm.Statistic ?? alarm.ExtendedStatistic) &&
            r.period === alarm.Period,
        );
        if (same.length === 0)
          problems.push(
            `${name}: ${widget.properties.title} has no ${alarm.MetricName} ${JSON.stringify(dims)} ${alarm.Statistic ?? alarm.ExtendedStatistic} per ${alarm.Period} s`,
          );
      }
    }
    expect(problems).toEqual([]);
    expect(drawn.sort()).toEqual([...alarms.keys()].sort());
  });
});

// ---------------------------------------------------------------------------------------------------------
// Alarms and dashboard against what the publisher really emits

describe('every metric an alarm or the dashboard reads is one the collector publishes', () => {
  let moto: RunningMoto;
  let emitted: Metric[];
  /** The dry run's custom metrics for the same collection and the deployed configuration. */
  let dryRunMetrics: Metric[];

  beforeAll(async () => {
    moto = await startMoto();
    const env = fn('CollectLambdaFunction').Environment.Variables as Record<string, string>;
    // The deployed collector's own configuration (namespace, quantiles, window, MAX_WORKFLOWS).
    const config = loadConfig(env);
    const nowMs = Math.floor(Date.now() / 60_000) * 60_000;
    const aggregator = new Aggregator({
      nowMs,
      runtimeWindowSeconds: config.runtimeWindowSeconds,
      maxWorkflows: config.maxWorkflows,
      histogramBuckets: config.histogramBuckets,
      quantiles: config.quantiles,
    });
    const at = (secondsAgo: number) => nowMs - secondsAgo * 1000;
    for (const [workflowId, workflowName] of [
      ['wf-1', 'Invoices'],
      ['wf-2', 'Contracts'],
    ] as const) {
      aggregator.add(
        job({ workflowId, workflowName, status: 'COMPLETED', createdAtMs: at(3_600), runtimeSeconds: 120 }),
      );
      aggregator.add(
        job({ workflowId, workflowName, status: 'COMPLETED', createdAtMs: at(3_000), runtimeSeconds: 300 }),
      );
      aggregator.add(job({ workflowId, workflowName, status: 'FAILED', createdAtMs: at(2_000), runtimeSeconds: 30 }));
      aggregator.add(job({ workflowId, workflowName, status: 'STOPPED', createdAtMs: at(1_500), runtimeSeconds: 10 }));
      aggregator.add(
        job({ workflowId, workflowName, status: 'SCHEDULED', createdAtMs: at(900), runtimeSeconds: undefined }),
      );
      aggregator.add(
        job({ workflowId, workflowName, status: 'IN_PROGRESS', createdAtMs: at(600), runtimeSeconds: undefined }),
      );
    }
    // Issue 17: one active hourly workflow listed by the workflows API, with a success (ScheduleMissed and
    // SecondsSinceLastSuccess per Workflow, and the total).
    const listed: Workflow[] = [
      {
        id: 'wf-1',
        name: 'Invoices',
        status: 'active',
        workflowType: 'basic',
        createdAtMs: at(30 * 86_400),
        updatedAtMs: undefined,
        cronEntries: ['0 * * * *'],
        scheduleProblem: undefined,
      },
    ];
    aggregator.declareWorkflows(listed);
    const inventory = workflowInventory(listed, noWorkflowSkips(), (id) => aggregator.runsOf(id), nowMs, {
      graceMs: 15 * 60_000,
      timezone: 'UTC',
    });
    const collection: Collection = {
      ok: true,
      snapshot: { ...aggregator.snapshot(), workflowInventory: inventory },
      durationSeconds: 0.4,
      finishedAtMs: nowMs,
    };
    // The deployed function publishes the events (STATE_BUCKET), so its per-workflow settings are those with events on.
    const settings = loadCloudWatchSettings(env, { eventsOn: true });
    const estimate = estimateCost(collection, undefined, {
      namespace: config.cloudwatchNamespace,
      quantiles: config.quantiles,
      events: true,
      scheduleSeconds: 300,
      ...settings,
    });
    dryRunMetrics = estimate.metrics.map((key) => {
      const [, name, dims] = /^([^{]+)\{(.*)\}$/.exec(key) as RegExpExecArray;
      return {
        MetricName: name,
        Dimensions: (dims as string)
          .split(',')
          .filter(Boolean)
          .map((pair) => ({ Name: pair.slice(0, pair.indexOf('=')), Value: pair.slice(pair.indexOf('=') + 1) })),
      };
    });
    const client = cloudWatchClientFor(moto.endpoint);
    try {
      const report = await publishCollection(collection, {
        namespace: config.cloudwatchNamespace,
        quantiles: config.quantiles,
        ...settings,
        client,
      });
      expect(report.failed).toEqual([]);
      expect(report.invalid).toEqual([]);
      // Finished-job events (JobsFinished, JobRuntime), rendered as the collector renders them: one job of each
      // terminal status per workflow, finished a few minutes ago.
      const finished: FinishedEvent[] = [];
      let n = 0;
      for (const [workflowId, workflowName] of [
        ['wf-1', 'Invoices'],
        ['wf-2', 'Contracts'],
      ] as const) {
        for (const [status, runtimeSeconds] of [
          ['COMPLETED', 120],
          ['FAILED', 30],
          ['STOPPED', 10],
        ] as const) {
          finished.push({
            id: `job-${++n}`,
            status,
            workflow: workflowDimensionValue(workflowId, workflowName),
            runtimeSeconds,
            finishedAtMs: at(300 + n * 60),
          });
        }
      }
      const events = await publishDatums(
        renderEventUnits(finished, { nowMs }).flatMap((u) => u.datums),
        { namespace: config.cloudwatchNamespace, client, now: () => nowMs },
      );
      expect(events.failed).toEqual([]);
      expect(events.invalid).toEqual([]);
      expect(events.published).toBeGreaterThan(0);
      // Outcome events (FilesFailed, JobsCompletedWithErrors: job details), one job per workflow.
      const outcomes = await publishDatums(
        renderOutcomeUnits(
          finished
            .filter((e) => e.status === 'COMPLETED')
            .map((e) => ({
              id: e.id,
              workflow: e.workflow,
              finishedAtMs: e.finishedAtMs,
              filesFailed: 2,
              completedWithErrors: true,
            })),
          nowMs,
        ).flatMap((u) => u.datums),
        { namespace: config.cloudwatchNamespace, client, now: () => nowMs },
      );
      expect(outcomes.failed).toEqual([]);
      expect(outcomes.published).toBeGreaterThan(0);
      emitted = await listMetrics(client, config.cloudwatchNamespace);
    } finally {
      client.destroy();
    }
    expect(emitted.length).toBeGreaterThan(0);
  }, 60_000);

  afterAll(async () => {
    await moto?.stop();
  });

  function check(refs: MetricRef[], published: Metric[] = emitted): void {
    const problems: string[] = [];
    for (const ref of refs) {
      if (ref.namespace !== NAMESPACE) {
        problems.push(
          `${ref.where}: ${ref.metricName} reads namespace ${ref.namespace}, the collector publishes to ${NAMESPACE}`,
        );
        continue;
      }
      const matches = published.filter(
        (m) =>
          m.MetricName === ref.metricName &&
          JSON.stringify((m.Dimensions ?? []).map((d) => d.Name).sort()) === JSON.stringify(ref.dimensionNames) &&
          Object.entries(ref.dimensionValues).every(([name, value]) =>
            (m.Dimensions ?? []).some((d) => d.Name === name && d.Value === value),
          ),
      );
      if (matches.length === 0) {
        problems.push(
          `${ref.where}: ${ref.metricName}{${ref.dimensionNames.join(',')}} ${JSON.stringify(ref.dimensionValues)} is never published`,
        );
      }
    }
    expect(problems).toEqual([]);
  }

  it('alarms', () => {
    const refs = alarmRefs(pkg.template).filter((r) => r.namespace !== 'AWS/Lambda');
    expect(refs).toHaveLength(7); // and ScheduleMissed (issue 17) and FilesFailed (issue 16)
    check(refs);
    check(refs, dryRunMetrics);
  });

  it('dashboard (plain metrics and SEARCH schemas)', () => {
    const refs = dashboardRefs(dashboardBody()).filter((r) => r.namespace !== 'AWS/Lambda');
    // Jobs 5 statuses + 2 ages + JobsFinished 3 statuses + FAILED (total and SEARCH by workflow) + JobRuntime 3
    // percentiles + its SEARCH by workflow + 3 window quantiles + SEARCH of ages by workflow + 4 collector metrics
    // + ScheduleMissed (total and SEARCH by workflow) + SEARCH of SecondsSinceLastSuccess by workflow (issue 17);
    // outcomes: FilesFailed (total and SEARCH), JobsCompletedWithErrors (total and SEARCH), JobsFinished COMPLETED
    expect(refs).toHaveLength(32);
    check(refs);
    check(refs, dryRunMetrics);
  });

  it("the functions' own metrics: AWS/Lambda, FunctionName of a function of this stack", () => {
    const refs = [...alarmRefs(pkg.template), ...dashboardRefs(dashboardBody())].filter(
      (r) => r.namespace === 'AWS/Lambda',
    );
    expect(new Set(refs.map((r) => r.metricName))).toEqual(new Set(['Errors', 'Throttles', 'Invocations']));
    for (const ref of refs) {
      expect(ref.dimensionNames, ref.where).toEqual(['FunctionName']);
      expect([
        JSON.stringify({ Ref: 'CollectLambdaFunction' }),
        JSON.stringify({ Ref: 'MetricsLambdaFunction' }),
        'CollectLambdaFunction-physical-id',
        'MetricsLambdaFunction-physical-id',
      ]).toContain(ref.dimensionValues.FunctionName);
    }
  });

  it('would catch a reference to something never published (no P75 metric; no Workflow-only schema)', () => {
    const bogus: MetricRef[] = [
      {
        where: 'p75',
        namespace: NAMESPACE,
        metricName: 'RecentJobRuntimeP75',
        dimensionNames: ['Status'],
        dimensionValues: { Status: 'COMPLETED' },
      },
      parseSearch('schema', `SEARCH('{"${NAMESPACE}",Workflow} MetricName="Jobs"', 'Maximum', 300)`),
      {
        where: 'value',
        namespace: NAMESPACE,
        metricName: 'Jobs',
        dimensionNames: ['Status'],
        dimensionValues: { Status: 'Failed' },
      },
      // Off by default with the events on (lib/outputs/cloudwatch/settings.ts).
      parseSearch(
        'per-workflow quantile',
        `SEARCH('{"${NAMESPACE}",Status,Workflow} MetricName="RecentJobRuntimeP95" Status="COMPLETED"', 'Maximum', 300)`,
      ),
      parseSearch(
        'per-workflow terminal count',
        `SEARCH('{"${NAMESPACE}",Status,Workflow} MetricName="Jobs" Status="FAILED"', 'Maximum', 300)`,
      ),
    ];
    for (const ref of bogus) {
      expect(() => check([ref]), ref.where).toThrow();
      expect(() => check([ref], dryRunMetrics), ref.where).toThrow();
    }
  });
});

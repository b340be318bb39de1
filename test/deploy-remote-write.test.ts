/**
 * The remote-write params of serverless.yml (docs/remote-write.md#deploying), packaged offline: the collect function
 * gets the REMOTE_WRITE_* variables only when they are set, its role reads the remote-write secret's SSM parameter
 * only when there is one and may call aps:RemoteWrite on the one AMP workspace only; with prometheusEndpoint false
 * this is Prometheus without a public endpoint. Inconsistent params are refused at package time. cfn-lint on these
 * variants: test/deploy-cfn-lint.test.ts (PACKAGE_VARIANTS).
 */
import { describe, expect, it } from 'vitest';
import { ensurePackaged, PACKAGE_VARIANTS, packageOnce } from './support/package.js';
import { ofType, type Json } from './support/template.js';

const { remoteWriteAmp: AMP, remoteWriteBasic: BASIC } = PACKAGE_VARIANTS;

const collectEnv = (template: Json): Record<string, unknown> =>
  template.Resources.CollectLambdaFunction.Properties.Environment.Variables;
const collectStatements = (template: Json): Json[] =>
  template.Resources.CollectRole.Properties.Policies[0].PolicyDocument.Statement;

describe('remote-write params', () => {
  it('by default: no REMOTE_WRITE_* variable and no aps permission', async () => {
    // Act
    const pkg = await ensurePackaged();

    // Assess
    expect(Object.keys(collectEnv(pkg.template)).filter((k) => k.startsWith('REMOTE_WRITE'))).toEqual([]);
    expect(pkg.templateText).not.toContain('aps:');
  }, 240_000);

  it('to an AMP workspace without a public endpoint: SigV4 in its region, aps:RemoteWrite on that workspace only', async () => {
    // Act
    const pkg = await ensurePackaged(AMP);

    // Assess
    expect(ofType(pkg.template, 'AWS::Lambda::Url')).toEqual([]);
    expect(Object.keys(pkg.zips)).toEqual(['collect']);
    const env = collectEnv(pkg.template);
    expect(env).toMatchObject({
      REMOTE_WRITE_URL: AMP.remoteWriteUrl,
      REMOTE_WRITE_JOB: 'unstructured-jobs-exporter',
      REMOTE_WRITE_DEADLINE: '15s',
      REMOTE_WRITE_SIGV4_REGION: { 'Fn::Select': [3, { 'Fn::Split': [':', AMP.ampWorkspaceArn] }] },
    });
    expect(AMP.ampWorkspaceArn.split(':')[3]).toBe('eu-west-1');
    expect(env).not.toHaveProperty('REMOTE_WRITE_BEARER_TOKEN_PARAM');
    const aps = collectStatements(pkg.template).filter((s) => JSON.stringify(s.Action).includes('aps:'));
    expect(aps).toEqual([
      {
        Sid: 'RemoteWriteToOwnWorkspace',
        Effect: 'Allow',
        Action: ['aps:RemoteWrite'],
        Resource: [AMP.ampWorkspaceArn],
      },
    ]);
    const rule = ofType(pkg.template, 'AWS::Events::Rule')[0]?.[1];
    expect(rule?.Properties.ScheduleExpression).toBe('rate(1 minute)');
  }, 240_000);

  it('with basic auth: the user name and the password parameter, which the role alone may read', async () => {
    // Act
    const pkg = await ensurePackaged(BASIC);

    // Assess
    expect(collectEnv(pkg.template)).toMatchObject({
      REMOTE_WRITE_URL: BASIC.remoteWriteUrl,
      REMOTE_WRITE_USERNAME: 'exporter',
      REMOTE_WRITE_PASSWORD_PARAM: BASIC.remoteWritePasswordParam,
    });
    const read = collectStatements(pkg.template).find((s) => s.Sid === 'ReadApiKey');
    expect(JSON.stringify(read?.Resource)).toContain(`parameter${BASIC.remoteWritePasswordParam}`);
    expect(pkg.templateText).not.toContain('aps:');
  }, 240_000);

  it.each([
    [{ remoteWriteUrl: 'https://p.example.com/api/v1/write' }, 'remoteWriteUrl needs a schedule of rate(1 minute)'],
    [{ ampWorkspaceArn: AMP.ampWorkspaceArn }, 'need remoteWriteUrl, and only one of the three may be set'],
    [
      {
        remoteWriteUrl: 'https://p.example.com/api/v1/write',
        schedule: 'rate(1 minute)',
        remoteWriteBearerTokenParam: '/t',
        ampWorkspaceArn: AMP.ampWorkspaceArn,
      },
      'only one of the three may be set',
    ],
    [
      { remoteWriteUrl: 'https://p.example.com/api/v1/write', schedule: 'rate(1 minute)', remoteWriteUsername: 'u' },
      'remoteWriteUsername and remoteWritePasswordParam go together',
    ],
    [
      { remoteWriteUrl: 'https://exporter:s3cret-pw@p.example.com/api/v1/write', schedule: 'rate(1 minute)' },
      'remoteWriteUrl must be https://host[/path] without user:password',
    ],
    [
      { remoteWriteUrl: 'https://p.example.com/api/v1/write?token=s3cret-tk', schedule: 'rate(1 minute)' },
      'remoteWriteUrl must be https://host[/path] without user:password',
    ],
    [
      { remoteWriteUrl: 'http://p.example.com/api/v1/write', schedule: 'rate(1 minute)' },
      'remoteWriteUrl must be https://host[/path] without user:password',
    ],
  ])(
    'refuses %j at package time, saying why',
    async (params, why) => {
      // Act
      const { code, output } = await packageOnce(params, 'remote-write');

      // Assess
      expect(code).not.toBe(0);
      expect(output.replace(/\s+/g, ' ')).toContain(why);
    },
    120_000,
  );
});

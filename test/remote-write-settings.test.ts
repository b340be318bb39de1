/**
 * REMOTE_WRITE_* settings (lib/outputs/remote-write/settings.ts) and `collect --sink remote-write`'s usage errors:
 * clear text only to loopback unless allowed, no credentials in the URL, one authentication at a time, and no message
 * quoting a secret.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/config.js';
import { loadRemoteWriteSettings } from '../lib/outputs/remote-write/settings.js';
import { runCli } from './support/cli.js';

const URL_OK = 'https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1234/api/v1/remote_write';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadRemoteWriteSettings(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('remote-write settings', () => {
  it('is off without REMOTE_WRITE_URL, and on with defaults when it is set', () => {
    // Act
    const off = loadRemoteWriteSettings({});
    const on = loadRemoteWriteSettings({ REMOTE_WRITE_URL: URL_OK, REMOTE_WRITE_INSTANCE: 'i-1' });

    // Assess
    expect(off).toBeUndefined();
    expect(on).toEqual({
      url: URL_OK,
      auth: { kind: 'none' },
      job: 'unstructured-jobs-exporter',
      instance: 'i-1',
      deadlineMs: 15_000,
      timeoutMs: 5_000,
    });
  });

  it('takes the instance from the Lambda function name when not given', () => {
    // Act
    const s = loadRemoteWriteSettings({ REMOTE_WRITE_URL: URL_OK, AWS_LAMBDA_FUNCTION_NAME: 'uje-prod-collect' });

    // Assess
    expect(s?.instance).toBe('uje-prod-collect');
  });

  it('allows http:// only to loopback, unless ALLOW_INSECURE_REMOTE_WRITE_URL=true', () => {
    // Act
    const loopback = loadRemoteWriteSettings({ REMOTE_WRITE_URL: 'http://127.0.0.1:9090/api/v1/write' });
    const refused = configError({ REMOTE_WRITE_URL: 'http://prometheus.internal:9090/api/v1/write' });
    const allowed = loadRemoteWriteSettings({
      REMOTE_WRITE_URL: 'http://prometheus.internal:9090/api/v1/write',
      ALLOW_INSECURE_REMOTE_WRITE_URL: 'true',
    });

    // Assess
    expect(loopback?.url).toBe('http://127.0.0.1:9090/api/v1/write');
    expect(refused.variable).toBe('REMOTE_WRITE_URL');
    expect(refused.message).toContain('ALLOW_INSECURE_REMOTE_WRITE_URL=true');
    expect(allowed?.url).toBe('http://prometheus.internal:9090/api/v1/write');
  });

  it('refuses credentials, a query or a fragment in the URL without quoting it', () => {
    // Act
    const withPassword = configError({ REMOTE_WRITE_URL: 'https://user:hunter2-secret@host/api/v1/write' });
    const withQuery = configError({ REMOTE_WRITE_URL: 'https://host/api/v1/write?token=abcdef123456' });
    const notUrl = configError({ REMOTE_WRITE_URL: 'not a url with secret-abcdef' });

    // Assess
    expect(withPassword.message).not.toContain('hunter2');
    expect(withQuery.message).not.toContain('abcdef123456');
    expect(notUrl.message).not.toContain('secret-abcdef');
  });

  it('reads bearer, basic and SigV4 auth, one at a time', () => {
    // Act
    const bearer = loadRemoteWriteSettings({ REMOTE_WRITE_URL: URL_OK, REMOTE_WRITE_BEARER_TOKEN_PARAM: '/p/token' });
    const basic = loadRemoteWriteSettings({
      REMOTE_WRITE_URL: URL_OK,
      REMOTE_WRITE_USERNAME: 'u',
      REMOTE_WRITE_PASSWORD: 'secret-password',
    });
    const sigv4 = loadRemoteWriteSettings({ REMOTE_WRITE_URL: URL_OK, REMOTE_WRITE_SIGV4_REGION: 'us-east-1' });
    const both = configError({
      REMOTE_WRITE_URL: URL_OK,
      REMOTE_WRITE_BEARER_TOKEN: 'secret-token-1',
      REMOTE_WRITE_SIGV4_REGION: 'us-east-1',
    });
    const noUser = configError({ REMOTE_WRITE_URL: URL_OK, REMOTE_WRITE_PASSWORD: 'secret-password' });
    const blank = configError({ REMOTE_WRITE_URL: URL_OK, REMOTE_WRITE_BEARER_TOKEN: '  ' });
    const region = configError({ REMOTE_WRITE_URL: URL_OK, REMOTE_WRITE_SIGV4_REGION: 'Virginia' });

    // Assess
    expect(bearer?.auth).toEqual({ kind: 'bearer', token: undefined, tokenParam: '/p/token' });
    expect(basic?.auth).toEqual({
      kind: 'basic',
      username: 'u',
      password: 'secret-password',
      passwordParam: undefined,
    });
    expect(sigv4?.auth).toEqual({ kind: 'sigv4', region: 'us-east-1' });
    expect(both.message).toContain('one authentication at a time');
    expect(both.message).not.toContain('secret-token-1');
    expect(noUser.variable).toBe('REMOTE_WRITE_USERNAME');
    expect(blank.variable).toBe('REMOTE_WRITE_BEARER_TOKEN');
    expect(region.variable).toBe('REMOTE_WRITE_SIGV4_REGION');
  });
});

describe('collect --sink remote-write usage', () => {
  it('needs REMOTE_WRITE_URL and, with SigV4, credentials (exit 2, before any pull), and names the sink in --help', async () => {
    // Act
    const missing = await runCli(['collect', '--sink', 'remote-write', '--demo'], {});
    const help = await runCli(['collect', '--help'], {});
    // No credentials anywhere (no HOME, no AWS_* but the region; instance metadata off): named before any pull.
    const noCredentials = await runCli(['collect', '--sink', 'remote-write', '--demo'], {
      REMOTE_WRITE_URL: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write',
      REMOTE_WRITE_SIGV4_REGION: 'eu-west-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
    });

    // Assess
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('REMOTE_WRITE_URL: not set');
    expect(help.stdout).toContain('--sink S                 stdout (default), cloudwatch or remote-write');
    expect(noCredentials.code).toBe(2);
    expect(noCredentials.stderr).toMatch(
      /^error: AWS credentials: none found by the SDK's default chain for REMOTE_WRITE_SIGV4_REGION/,
    );
  });
});

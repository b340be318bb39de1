import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_API_URL,
  isLoopbackHost,
  loadConfig,
  normalizeApiUrl,
  parseDurationSetting,
  wantsDemo,
} from '../lib/config.js';

describe('loadConfig', () => {
  it('has working defaults with an empty environment', () => {
    // Act
    const config = loadConfig({});

    // Assess
    expect(config.apiUrl).toBe(DEFAULT_API_URL);
    expect(config.runtimeWindowSeconds).toBe(86400);
    expect(config.pullDeadlineMs).toBeLessThanOrEqual(30_000);
    expect(config.maxWorkflows).toBe(50);
    expect(config.quantiles).toEqual([0.5, 0.9, 0.95, 0.99, 1]);
    expect(config.port).toBe(9464);
    expect(config.cloudwatchNamespace).toBe('Unstructured/Jobs');
    expect(config.maxResponseBytes).toBe(1024 ** 3);
  });

  it('reads every variable', () => {
    // Act
    const config = loadConfig({
      UNSTRUCTURED_API_URL: 'https://eu.example.com/api/v1/',
      UNSTRUCTURED_API_KEY_PARAM: '/unstructured/api-key',
      WORKFLOW_IDS: 'a1, b2 ,a1',
      RUNTIME_WINDOW: '6h',
      MAX_WORKFLOWS: '7',
      HISTOGRAM_BUCKETS: '1,5,30',
      QUANTILES: '0.5,0.999',
      CACHE_TTL: '15s',
      PULL_DEADLINE: '20s',
      REQUEST_TIMEOUT: '5s',
      MAX_RETRIES: '2',
      MAX_RESPONSE_BYTES: '512MiB',
      METRICS_TOKEN_PARAM: '/unstructured/metrics-token',
      CLOUDWATCH_NAMESPACE: 'Team/Jobs',
      PORT: '8080',
    });

    // Assess
    expect(config).toMatchObject({
      apiUrl: 'https://eu.example.com',
      apiKeyParam: '/unstructured/api-key',
      workflowIds: ['a1', 'b2'],
      runtimeWindowSeconds: 21600,
      maxWorkflows: 7,
      histogramBuckets: [1, 5, 30],
      quantiles: [0.5, 0.999],
      cacheTtlMs: 15_000,
      pullDeadlineMs: 20_000,
      requestTimeoutMs: 5_000,
      maxRetries: 2,
      maxResponseBytes: 512 * 1024 ** 2,
      metricsTokenParam: '/unstructured/metrics-token',
      cloudwatchNamespace: 'Team/Jobs',
      port: 8080,
    });
  });

  it.each([
    ['RUNTIME_WINDOW', 'tomorrow'],
    ['RUNTIME_WINDOW', '0s'],
    ['MAX_WORKFLOWS', '0'],
    ['MAX_WORKFLOWS', 'ten'],
    ['HISTOGRAM_BUCKETS', '5,1'],
    ['HISTOGRAM_BUCKETS', '1,,2'],
    ['QUANTILES', '1.5'],
    ['PORT', '70000'],
    ['UNSTRUCTURED_API_URL', 'ftp://x'],
    ['UNSTRUCTURED_API_URL', 'not a url'],
    ['WORKFLOW_IDS', 'ok,"quoted"'],
    ['MAX_RETRIES', '-1'],
    ['MAX_RESPONSE_BYTES', '1 TB'],
    ['MAX_RESPONSE_BYTES', '100'],
    ['MAX_RESPONSE_BYTES', '2GB extra'],
    ['MAX_RESPONSE_BYTES', '-5MB'],
    ['MAX_RESPONSE_BYTES', '5 mb'],
    ['MAX_CONNECTIONS', '0'],
    ['SEND_TIMEOUT', '30'],
    ['ALLOW_INSECURE_API_URL', 'yes'],
  ])('rejects %s=%s with an error naming the variable', (variable, value) => {
    // Act / Assess
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: `));
  });
});

describe('MAX_RESPONSE_BYTES', () => {
  it.each([
    ['1073741824', 1073741824],
    ['1GiB', 1024 ** 3],
    ['512 MiB', 512 * 1024 ** 2],
    ['500MB', 500e6],
    ['1.5GB', 1.5e9],
    ['64KiB', 65536],
    ['2048B', 2048],
    [' 1GiB ', 1024 ** 3],
  ])('reads %j as %d bytes', (raw, bytes) => {
    expect(loadConfig({ MAX_RESPONSE_BYTES: raw }).maxResponseBytes).toBe(bytes);
  });

  it('says what it expected and the bounds', () => {
    expect(() => loadConfig({ MAX_RESPONSE_BYTES: '1 TB' })).toThrow(
      'MAX_RESPONSE_BYTES: expected a size like 1073741824, 1GiB, 512MiB or 500MB, got "1 TB"',
    );
    expect(() => loadConfig({ MAX_RESPONSE_BYTES: '100' })).toThrow(
      'MAX_RESPONSE_BYTES: must be between 1024 and 68719476736 bytes, got 100',
    );
  });
});

describe('normalizeApiUrl', () => {
  it.each(['https://h.io', 'https://h.io/', 'https://h.io/api/v1', 'https://h.io/api/v1/'])('accepts %s', (url) => {
    // Act / Assess
    expect(normalizeApiUrl(url)).toBe('https://h.io');
  });

  it('keeps a path prefix in front of /api/v1', () => {
    // Act / Assess
    expect(normalizeApiUrl('http://127.0.0.1:8080/proxy/api/v1')).toBe('http://127.0.0.1:8080/proxy');
  });

  it.each([
    'http://127.0.0.1:8080',
    'http://127.1.2.3',
    'http://127.1',
    'http://0x7f.0.0.1',
    'http://localhost:9',
    'http://LOCALHOST',
    'http://[::1]:80',
    'http://[0:0:0:0:0:0:0:1]',
  ])('accepts http:// to the loopback host of %s (the key never leaves the machine)', (url) => {
    // Act / Assess
    expect(normalizeApiUrl(url)).toMatch(/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/);
  });

  it.each([
    'http://platform.unstructuredapp.io',
    'http://10.0.0.5',
    'http://128.0.0.1',
    'http://127.0.0.1.example.com',
    'http://localhost.example.com',
    'http://[::2]',
    'http://[::ffff:127.0.0.1]',
    'http://0.0.0.0',
  ])('refuses http:// to %s unless ALLOW_INSECURE_API_URL=true: the key would travel in clear text', (url) => {
    // Act / Assess
    expect(() => loadConfig({ UNSTRUCTURED_API_URL: url })).toThrow(
      /^UNSTRUCTURED_API_URL: http:\/\/ would send the API key in clear text to .*ALLOW_INSECURE_API_URL=true/,
    );
    expect(loadConfig({ UNSTRUCTURED_API_URL: url, ALLOW_INSECURE_API_URL: 'true' }).apiUrl).toBe(new URL(url).origin);
    expect(() => loadConfig({ UNSTRUCTURED_API_URL: url, ALLOW_INSECURE_API_URL: 'false' })).toThrow(ConfigError);
  });

  it('knows loopback hosts as the URL parser writes them', () => {
    // Act / Assess
    expect(['localhost', '127.0.0.1', '127.255.255.255', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['localhost.', 'example.com', '126.0.0.1', '[::]', '127.0.0.1.nip.io'].some(isLoopbackHost)).toBe(false);
  });

  it.each([
    ['an unparsable URL with credentials', 'https://user:pa55-w0rd-s3cret@exa mple.com'],
    ['a parsable URL with credentials', 'https://user:pa55-w0rd-s3cret@example.com'],
    ['a URL with the key in its query', 'https://example.com/?key=pa55-w0rd-s3cret'],
    ['an http:// URL with credentials', 'http://user:pa55-w0rd-s3cret@example.com'],
    ['a URL of another scheme', 'ftp://user:pa55-w0rd-s3cret@example.com'],
  ])('never repeats %s in its error', (_what, url) => {
    // Act
    let message = '';
    try {
      loadConfig({ UNSTRUCTURED_API_URL: url });
    } catch (error) {
      message = (error as Error).message;
    }

    // Assess
    expect(message).toMatch(/^UNSTRUCTURED_API_URL: /);
    for (let i = 0; i + 6 <= 'pa55-w0rd-s3cret'.length; i++)
      expect(message).not.toContain('pa55-w0rd-s3cret'.slice(i, i + 6));
    expect(message).not.toContain('user');
  });
});

describe('the metrics token', () => {
  it.each([
    ['an accented letter', 'tökén-0123456789'],
    ['an emoji', 'token-🔑-0123456789'],
    ['a euro sign', 'token-€-0123456789'],
    ['a control character', 'token\u0007-0123456789'],
    ['a newline inside', 'token\n0123456789'],
  ])('refuses a token with %s at start, with a clear message that never shows it', (_what, token) => {
    // Act
    let error: unknown;
    try {
      loadConfig({ METRICS_TOKEN: token });
    } catch (thrown) {
      error = thrown;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(
      /^METRICS_TOKEN: holds a character outside printable ASCII .* Bearer header cannot carry/,
    );
    expect((error as ConfigError).message).not.toContain('0123456789');
  });

  it('accepts any printable ASCII token, spaces inside included', () => {
    // Act / Assess
    expect(loadConfig({ METRICS_TOKEN: ' a-Z_0.9~!"#$%&()*+,/:;<=>?@[]^`{|}\\ x ' }).metricsToken).toBe(
      'a-Z_0.9~!"#$%&()*+,/:;<=>?@[]^`{|}\\ x',
    );
  });
});

describe('serve limits', () => {
  it('has documented defaults and takes MAX_CONNECTIONS and SEND_TIMEOUT', () => {
    // Act / Assess
    expect(loadConfig({})).toMatchObject({ maxConnections: 256, sendTimeoutMs: 30_000 });
    expect(loadConfig({ MAX_CONNECTIONS: '1000', SEND_TIMEOUT: '2m' })).toMatchObject({
      maxConnections: 1000,
      sendTimeoutMs: 120_000,
    });
  });
});

describe('parseDurationSetting', () => {
  it.each([
    ['0', 0],
    ['90s', 90],
    ['15m', 900],
    ['24h', 86400],
    ['7d', 604800],
    ['1h30m', 5400],
    ['500ms', 0.5],
  ])('%s is %d s', (text, seconds) => {
    // Act / Assess
    expect(parseDurationSetting('X', text)).toBe(seconds);
  });

  it.each(['24', '90', '1.5', ' 30 '])('refuses %j: a duration needs a unit', (text) => {
    // Act / Assess
    expect(() => parseDurationSetting('RUNTIME_WINDOW', text)).toThrow(
      'RUNTIME_WINDOW: a duration needs a unit (ms, s, m, h, d or w)',
    );
  });

  it('refuses RUNTIME_WINDOW=24 at load, naming the variable', () => {
    // Act / Assess
    expect(() => loadConfig({ RUNTIME_WINDOW: '24' })).toThrow(ConfigError);
    expect(() => loadConfig({ RUNTIME_WINDOW: '24' })).toThrow(/^RUNTIME_WINDOW: a duration needs a unit/);
  });
});

describe('secrets and the demo rule', () => {
  it.each(['UNSTRUCTURED_API_KEY', 'UNSTRUCTURED_API_KEY_PARAM', 'METRICS_TOKEN', 'METRICS_TOKEN_PARAM'])(
    'refuses %s set but blank',
    (variable) => {
      // Act / Assess
      for (const blank of ['', '  ', '\t\n']) {
        expect(() => loadConfig({ [variable]: blank })).toThrow(
          `${variable}: is set but empty; give the value, or unset the variable`,
        );
      }
    },
  );

  it('runs the demo only when no account variable is set at all', () => {
    // Act / Assess
    expect(wantsDemo({})).toBe(true);
    expect(wantsDemo({ PORT: '9464', LOG_LEVEL: 'debug' })).toBe(true);
    expect(wantsDemo({ UNSTRUCTURED_API_KEY: 'k' })).toBe(false);
    expect(wantsDemo({ UNSTRUCTURED_API_KEY_PARAM: '/p' })).toBe(false);
    expect(() => wantsDemo({ UNSTRUCTURED_API_KEY: '' })).toThrow(/^UNSTRUCTURED_API_KEY: is set but empty/);
    expect(() => wantsDemo({ UNSTRUCTURED_API_URL: 'https://example.test' })).toThrow(
      'UNSTRUCTURED_API_KEY: not set (UNSTRUCTURED_API_URL is set); set it or UNSTRUCTURED_API_KEY_PARAM',
    );
  });
});

// A small HTTP adapter that serves a Lambda function-URL handler the way AWS does (payload format 2.0),
// run as its own Node process so the handler is loaded fresh, as in a cold Lambda.
// Usage: node lambda-http-adapter.mjs <handler-module-path> <export-name>
// Prints "listening <port>" on stdout once ready. Environment is passed through to the handler.
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const [modulePath, exportName = 'handler'] = process.argv.slice(2);
const mod = await import(pathToFileURL(modulePath).href);
const handler = mod[exportName] ?? mod.default?.[exportName];
if (typeof handler !== 'function') {
  console.error(`no function ${exportName} exported by ${modulePath}`);
  process.exit(2);
}

let requestCount = 0;
const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const now = new Date();
  requestCount++;
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'adapter',
      domainName: `${req.headers.host ?? 'localhost'}`,
      domainPrefix: 'adapter',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: `req-${requestCount}`,
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length ? body.toString('base64') : undefined,
    isBase64Encoded: body.length > 0,
  };
  try {
    const result = await handler(event, {
      awsRequestId: `req-${requestCount}`,
      functionName: 'adapter',
      getRemainingTimeInMillis: () => 30_000,
    });
    const out = result.isBase64Encoded
      ? Buffer.from(result.body ?? '', 'base64')
      : Buffer.from(result.body ?? '', 'utf8');
    res.writeHead(result.statusCode ?? 200, { ...(result.headers ?? {}), 'content-length': String(out.length) });
    res.end(out);
  } catch (error) {
    // Lambda answers 502 when the handler throws; the test sees it as a failed scrape.
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`handler threw: ${error instanceof Error ? error.message : String(error)}\n`);
  }
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

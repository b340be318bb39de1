/**
 * Lambda handler behind a function URL (payload format 2.0): GET /metrics, / and /healthz.
 * Thin wiring: the exporter (and its cache) lives across warm invocations.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createExporter, type Exporter } from '../lib/exporter.js';
import { LAMBDA_BODY_LIMIT_BYTES } from '../lib/outputs/http/app.js';
import { Logger } from '../lib/log.js';

let exporter: Exporter | undefined;

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    exporter ??= createExporter({ maxBodyBytes: LAMBDA_BODY_LIMIT_BYTES });
  } catch (error) {
    // A configuration error is reported on every request (and in the log) until it is fixed.
    const message = error instanceof Error ? error.message : String(error);
    new Logger().error('configuration error', { error: message });
    // The URL is public: the details (which may quote a mistyped value) go to the log only.
    return {
      statusCode: 500,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'configuration error: see the function log\n',
    };
  }
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  const response = await exporter.app.handle({
    method: event.requestContext?.http?.method ?? 'GET',
    path: event.rawPath ?? '/',
    headers,
  });
  const binary = response.headers['content-encoding'] !== undefined;
  const body = response.body.toString(binary ? 'base64' : 'utf8');
  response.release?.();
  return { statusCode: response.status, headers: response.headers, body, isBase64Encoded: binary };
}

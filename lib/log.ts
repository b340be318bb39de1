/**
 * Structured logging: one JSON object a line (CloudWatch Logs Insights and `jq` read it as is).
 * Every registered secret is scrubbed from every line, whatever path it took to get there.
 */
export const LOG_LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LOG_LEVELS;

const REDACTED = '[REDACTED]';
/** Shorter strings are not scrubbed: they would mangle ordinary text, and are no real secret. */
const MIN_SECRET_LENGTH = 6;

export class Logger {
  readonly #secrets = new Set<string>();
  readonly #write: (line: string) => void;
  readonly #min: number;

  constructor(options: { level?: LogLevel; write?: (line: string) => void } = {}) {
    this.#min = LOG_LEVELS[options.level ?? 'info'];
    this.#write = options.write ?? ((line) => process.stderr.write(`${line}\n`));
  }

  addSecret(secret: string | undefined): void {
    if (secret !== undefined && secret.length >= MIN_SECRET_LENGTH) this.#secrets.add(secret);
  }

  /** Removes every registered secret from a string (for error messages that leave the process). */
  scrub(text: string): string {
    let out = text;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.#log('debug', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.#log('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.#log('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.#log('error', message, fields);
  }

  #log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (LOG_LEVELS[level] < this.#min) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level, message, ...fields });
    this.#write(this.scrub(line));
  }
}

export function logLevelFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): LogLevel {
  const raw = env.LOG_LEVEL?.trim().toLowerCase();
  if (raw === undefined || raw === '') return 'info';
  if (raw in LOG_LEVELS) return raw as LogLevel;
  throw new Error(`LOG_LEVEL: expected one of ${Object.keys(LOG_LEVELS).join(', ')}, got ${JSON.stringify(env.LOG_LEVEL)}`);
}

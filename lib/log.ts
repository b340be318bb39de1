/**
 * Structured logging: one JSON object a line (CloudWatch Logs Insights and `jq` read it as is).
 * Every registered secret is scrubbed from every line, whatever path it took to get there.
 */
export const LOG_LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LOG_LEVELS;

const REDACTED = '[REDACTED]';
/**
 * Shorter strings are not scrubbed: they would mangle ordinary text, and are no real secret. Also the shortest
 * piece of a secret that is scrubbed: a cut-off key (an upstream's message cut to length, the ten characters
 * around a JSON error) is a leak too, so every run of this many characters or more of a registered secret goes,
 * wherever it stands, not only the whole secret.
 */
export const MIN_SECRET_LENGTH = 6;

export class Logger {
  /** Every MIN_SECRET_LENGTH-character piece of every registered secret. */
  readonly #pieces = new Set<string>();
  readonly #write: (line: string) => void;
  readonly #min: number;

  constructor(options: { level?: LogLevel; write?: (line: string) => void } = {}) {
    this.#min = LOG_LEVELS[options.level ?? 'info'];
    this.#write = options.write ?? ((line) => process.stderr.write(`${line}\n`));
  }

  addSecret(secret: string | undefined): void {
    if (secret === undefined || secret.length < MIN_SECRET_LENGTH) return;
    for (let i = 0; i + MIN_SECRET_LENGTH <= secret.length; i++)
      this.#pieces.add(secret.slice(i, i + MIN_SECRET_LENGTH));
  }

  /**
   * Replaces every run of MIN_SECRET_LENGTH or more characters of a registered secret with [REDACTED] (for error
   * messages that leave the process). A run is text whose every MIN_SECRET_LENGTH-character window is a piece of
   * a secret: the whole secret, or any part of it that long.
   */
  scrub(text: string): string {
    const n = MIN_SECRET_LENGTH;
    if (this.#pieces.size === 0 || text.length < n) return text;
    let out = '';
    let copied = 0;
    for (let i = 0; i + n <= text.length; ) {
      if (!this.#pieces.has(text.slice(i, i + n))) {
        i++;
        continue;
      }
      let end = i + n;
      while (end < text.length && this.#pieces.has(text.slice(end - n + 1, end + 1))) end++;
      out += `${text.slice(copied, i)}${REDACTED}`;
      copied = end;
      i = end;
    }
    return copied === 0 ? text : `${out}${text.slice(copied)}`;
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
    // Values are scrubbed before they are quoted (a secret holding `"` or `\\` is escaped in the line), and the
    // line once more (a secret in a field name).
    const line = JSON.stringify(
      { time: new Date().toISOString(), level, message, ...fields },
      (_key, value: unknown) => (typeof value === 'string' ? this.scrub(value) : value),
    );
    this.#write(this.scrub(line));
  }
}

export function logLevelFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): LogLevel {
  const raw = env.LOG_LEVEL?.trim().toLowerCase();
  if (raw === undefined || raw === '') return 'info';
  if (raw in LOG_LEVELS) return raw as LogLevel;
  throw new Error(
    `LOG_LEVEL: expected one of ${Object.keys(LOG_LEVELS).join(', ')}, got ${JSON.stringify(env.LOG_LEVEL)}`,
  );
}

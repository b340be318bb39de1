/**
 * The logger's scrubber: no run of MIN_SECRET_LENGTH (6) or more characters of a registered secret survives, in
 * a log line or in a message scrubbed for the outside (the collection's error, the status page).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Logger, MIN_SECRET_LENGTH } from '../lib/log.js';

const SECRET = 'key-0a1b2c3d4e5f6a7b8c9d';

/** The longest run of `secret`'s characters (a substring of it) found in `text`. */
function longestRun(text: string, secret: string): number {
  let best = 0;
  for (let i = 0; i < secret.length; i++) {
    for (let j = i + best + 1; j <= secret.length; j++) {
      if (!text.includes(secret.slice(i, j))) break;
      best = j - i;
    }
  }
  return best;
}

describe('Logger.scrub', () => {
  it('removes the whole secret and every piece of it 6 characters or longer, wherever it stands', () => {
    // Prepare
    const logger = new Logger({ write: () => undefined });
    logger.addSecret(SECRET);

    fc.assert(
      fc.property(
        fc.string({ maxLength: 30 }),
        fc.integer({ min: 0, max: SECRET.length - MIN_SECRET_LENGTH }),
        fc.integer({ min: MIN_SECRET_LENGTH, max: SECRET.length }),
        fc.string({ maxLength: 30 }),
        (before, from, length, after) => {
          // Act
          const piece = SECRET.slice(from, from + length);
          const scrubbed = logger.scrub(`${before}${piece}${after}`);

          // Assess
          expect(longestRun(scrubbed, SECRET)).toBeLessThan(MIN_SECRET_LENGTH);
          expect(scrubbed).toContain('[REDACTED]');
        },
      ),
    );
  });

  it('leaves text without a 6-character piece of a secret as it is', () => {
    // Prepare
    const logger = new Logger({ write: () => undefined });
    logger.addSecret(SECRET);
    const text = `pull failed: ${SECRET.slice(0, 5)} and ${SECRET.slice(10, 15)}, offset 123456`;

    // Act + Assess
    expect(logger.scrub(text)).toBe(text);
  });

  it('scrubs every registered secret, pieces of two secrets side by side each', () => {
    // Prepare
    const logger = new Logger({ write: () => undefined });
    logger.addSecret(SECRET);
    logger.addSecret('tok-9f2c71e04b5a3d68');
    logger.addSecret('short'); // under 6 characters: not a secret worth scrubbing

    // Act
    const scrubbed = logger.scrub(`a ${SECRET.slice(3, 12)}tok-9f2c71 b ${SECRET} short`);

    // Assess
    expect(scrubbed).toBe('a [REDACTED][REDACTED] b [REDACTED] short');
  });

  it('writes valid JSON lines with no piece of a secret, even one holding quotes and backslashes', () => {
    // Prepare
    const lines: string[] = [];
    const logger = new Logger({ level: 'debug', write: (line) => lines.push(line) });
    const odd = 'se"cr\\et-\u00e9-0123456789';
    logger.addSecret(odd);

    // Act
    logger.error(`failed: ${odd.slice(2, 14)}`, { detail: { echoed: odd, parts: [odd.slice(4, 11)] } });

    // Assess
    const line = lines[0] as string;
    const parsed = JSON.parse(line) as { message: string; detail: { echoed: string; parts: string[] } };
    expect(parsed.message).toBe('failed: [REDACTED]');
    expect(parsed.detail).toEqual({ echoed: '[REDACTED]', parts: ['[REDACTED]'] });
    expect(longestRun(JSON.stringify(parsed), odd)).toBeLessThan(MIN_SECRET_LENGTH);
  });
});

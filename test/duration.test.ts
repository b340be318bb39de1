import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DURATION_LENGTH, parseIsoDuration } from '../lib/records/duration.js';

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;
const WEEK = 7 * DAY;
const MONTH = 30 * DAY;
const YEAR = 365 * DAY;

describe('parseIsoDuration: accepted forms', () => {
  it.each([
    ['PT2M30S', 150],
    ['P1DT2H', DAY + 2 * HOUR],
    ['PT0S', 0],
    ['P1Y35D', 400 * DAY],
    ['P1W', WEEK],
    ['P2W3D', 2 * WEEK + 3 * DAY],
    ['P1M', MONTH],
    ['P1Y2M3W4DT5H6M7S', YEAR + 2 * MONTH + 3 * WEEK + 4 * DAY + 5 * HOUR + 6 * MINUTE + 7],
    ['PT36H', 36 * HOUR],
    ['PT90M', 90 * MINUTE],
    ['PT3600S', HOUR],
    ['P0D', 0],
    ['P1DT0S', DAY],
    ['PT007S', 7],
  ])('%s is %d s (whole units)', (text, seconds) => {
    // Act
    const result = parseIsoDuration(text);

    // Assess
    expect(result).toBe(seconds);
  });

  it.each([
    ['PT2M30.456S', 150.456],
    ['PT1H2M3.456789S', 3723.456789],
    ['PT0.5S', 0.5],
    ['PT1,5S', 1.5],
    ['PT1.5H', 5400],
    ['P1.5D', 1.5 * DAY],
    ['P1DT1.25M', DAY + 75],
    ['PT0.000001S', 0.000001],
    ['P0.5W', 0.5 * WEEK],
    ['P0,5Y', 0.5 * YEAR],
  ])('%s is %d s (fraction on the last unit)', (text, seconds) => {
    // Act
    const result = parseIsoDuration(text);

    // Assess
    expect(result).toBeCloseTo(seconds, 9);
  });

  // Produced with pydantic 2.13.4: TypeAdapter(timedelta).dump_json(t), expected = t.total_seconds().
  it.each([
    ['P1Y', 31536000.0],
    ['P1Y1D', 31622400.0],
    ['P30D', 2592000.0],
    ['P7D', 604800.0],
    ['P1DT1H', 90000.0],
    ['PT59.999999S', 59.999999],
    ['P10Y2DT1.00001S', 315532801.00001],
    ['P1Y138DT1H21M37.993908S', 43464097.993908],
    ['P234DT8H3M53.414002S', 20246633.414002],
    ['P2Y281DT4H35M46.050631S', 87366946.050631],
    ['P112DT12H37M13.861168S', 9722233.861168],
    // biome-ignore lint/correctness/noPrecisionLoss: the expected value is this literal's double, as the parser computes it
    ['P2739726Y9DT23H59M59.999999S', 86399999999999.999999],
  ])('pydantic output %s is %d s', (text, seconds) => {
    // Act
    const result = parseIsoDuration(text);

    // Assess
    expect(result).toBeCloseTo(seconds, 5);
  });

  it('gives the same double as the decimal literal for pydantic fractions (no per-digit rounding)', () => {
    // Act / Assess
    expect(parseIsoDuration('PT30.456S')).toBe(30.456);
    expect(parseIsoDuration('PT0.1S')).toBe(0.1);
    expect(parseIsoDuration('PT3.456789S')).toBe(3.456789);
  });

  it('accepts a text of exactly MAX_DURATION_LENGTH characters (zero padding)', () => {
    // Prepare
    const text = `PT${'0'.repeat(MAX_DURATION_LENGTH - 4)}1S`;

    // Act
    const result = parseIsoDuration(text);

    // Assess
    expect(text).toHaveLength(MAX_DURATION_LENGTH);
    expect(result).toBe(1);
  });
});

describe('parseIsoDuration: rejected forms', () => {
  it.each([
    ['empty', ''],
    ['bare P', 'P'],
    ['bare PT', 'PT'],
    ['trailing T', 'P1DT'],
    ['garbage', 'garbage'],
    ['plain number', '150'],
    ['no P', 'T5S'],
    ['lower-case', 'pt5s'],
    ['lower-case designator', 'PT5s'],
    ['lower-case t', 'P1Dt5S'],
    ['negative', '-PT5S'],
    ['explicit plus', '+PT5S'],
    ['negative component', 'PT-5S'],
    ['date units out of order', 'P1D2Y'],
    ['time units out of order', 'PT5S1M'],
    ['week after day', 'P1D1W'],
    ['repeated unit', 'PT1S1S'],
    ['repeated day', 'P1D1D'],
    ['repeated T', 'PT1HT1M'],
    ['time unit before T', 'P1H'],
    ['seconds before T', 'P5S'],
    ['date unit after T', 'PT1D'],
    ['year after T', 'PT1Y'],
    ['fraction on a non-last unit', 'PT1.5H2M'],
    ['fraction on a non-last date unit', 'P1.5DT2H'],
    ['two fractions', 'PT1.5M2.5S'],
    ['fraction without digits', 'PT1.S'],
    ['fraction without integer', 'PT.5S'],
    ['number without designator', 'PT5'],
    ['designator without number', 'PTS'],
    ['two separators', 'PT1.2.3S'],
    ['leading space', ' PT5S'],
    ['trailing space', 'PT5S '],
    ['inner space', 'PT5 S'],
    ['exponent', 'PT1e3S'],
    ['unknown designator', 'PT5X'],
    ['alternative format', 'P0001-02-03T04:05:06'],
    ['time-of-day form', '00:02:30'],
    ['non-ASCII digit', 'PT٥S'],
    ['full-width designator', 'PT5Ｓ'],
    ['over the length cap', `PT${'0'.repeat(MAX_DURATION_LENGTH)}1S`],
  ])('%s: %j', (_label, text) => {
    // Act
    const result = parseIsoDuration(text);

    // Assess
    expect(result).toBeNaN();
  });
});

interface Component {
  readonly designator: string;
  readonly seconds: number;
  readonly time: boolean;
}

const COMPONENTS: readonly Component[] = [
  { designator: 'Y', seconds: YEAR, time: false },
  { designator: 'M', seconds: MONTH, time: false },
  { designator: 'W', seconds: WEEK, time: false },
  { designator: 'D', seconds: DAY, time: false },
  { designator: 'H', seconds: HOUR, time: true },
  { designator: 'M', seconds: MINUTE, time: true },
  { designator: 'S', seconds: 1, time: true },
];

/** A valid duration text and its value, built from random components in ISO order. */
const validDuration = fc
  .record({
    values: fc.tuple(...COMPONENTS.map(() => fc.option(fc.nat({ max: 100_000 }), { nil: undefined }))),
    fraction: fc.option(fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 6 }), {
      nil: undefined,
    }),
    separator: fc.constantFrom('.', ','),
  })
  .filter(({ values }) => values.some((v) => v !== undefined))
  .map(({ values, fraction, separator }) => {
    let text = 'P';
    let seconds = 0;
    let inTime = false;
    const last = values.findLastIndex((v) => v !== undefined);
    values.forEach((value, index) => {
      if (value === undefined) return;
      const component = COMPONENTS[index] as Component;
      if (component.time && !inTime) {
        text += 'T';
        inTime = true;
      }
      text += String(value);
      seconds += value * component.seconds;
      if (index === last && fraction !== undefined) {
        text += separator + fraction;
        seconds += Number(`0.${fraction}`) * component.seconds;
      }
      text += component.designator;
    });
    return { text, seconds };
  });

function closeTo(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
}

describe('parseIsoDuration: properties', () => {
  it('parses any valid duration built from random components to its computed seconds', () => {
    fc.assert(
      fc.property(validDuration, ({ text, seconds }) => {
        // Act
        const result = parseIsoDuration(text);

        // Assess
        expect(closeTo(result, seconds), `${text}: got ${result}, expected ${seconds}`).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects any valid duration made negative, lower-case or given a trailing T', () => {
    fc.assert(
      fc.property(validDuration, ({ text }) => {
        // Prepare: a text with a time part already cannot take another T; a lone T must be refused too.
        const mutated = [`-${text}`, text.toLowerCase(), `${text}T`, `${text} `];

        // Act / Assess
        for (const bad of mutated) expect(parseIsoDuration(bad), bad).toBeNaN();
      }),
      { numRuns: 500 },
    );
  });

  it('never throws and gives NaN or a finite non-negative number for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...'PTYMWDHS0123456789.,-') })), (text) => {
        // Act
        const result = parseIsoDuration(text);

        // Assess
        expect(Number.isNaN(result) || (Number.isFinite(result) && result >= 0)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

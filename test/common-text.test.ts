/**
 * The shared text rules (lib/common/text.ts), each the merge of two former copies: the merged rule must give
 * what the old copies gave where they were used.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCodeUnits, oneLine, wellFormed } from '../lib/common/text.js';

/** The JSON reader's former oneLine: control characters only. */
const readerOneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
/** The API client's former oneLine: whitespace only, trimmed. */
const clientOneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
/** Text with plenty of whitespace, control characters and surrogates (lone or paired). */
const awkwardText = fc.string({
  unit: fc.oneof(fc.constantFrom(' ', '\t', '\n', '\r', '\u0000', '\u0001', '\u001b', '\u007f', '\u00a0', '\u2028', '\ud800', '\udc00', '😀'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })),
  maxLength: 40,
});

describe('oneLine', () => {
  it('is what a pull error showed after both former copies: every run of whitespace or controls is one space, trimmed', () => {
    fc.assert(
      fc.property(awkwardText, (text) => {
        // Act
        const line = oneLine(text);

        // Assess
        expect(line).toBe(clientOneLine(readerOneLine(text)));
        expect(line).not.toMatch(/[\u0000-\u001f\u007f]|\s\s|^\s|\s$/);
      }),
    );
  });

  it('removes the control characters the API client used to keep in an error detail', () => {
    // Act
    const line = oneLine('bad\u0001key \u001b[31mred\u001b[0m');

    // Assess
    expect(line).toBe('bad key [31mred [0m');
  });
});

describe('wellFormed', () => {
  it('replaces exactly the lone surrogates, as the finished-job events did', () => {
    fc.assert(
      fc.property(awkwardText, (text) => {
        // Act
        const shown = wellFormed(text);

        // Assess
        expect(shown).toBe(text.replace(/[\uD800-\uDFFF]/gu, '\uFFFD'));
        expect(shown).not.toMatch(/[\uD800-\uDFFF]/u);
      }),
    );
  });
});

describe('compareCodeUnits', () => {
  it('orders like the default string sort (UTF-16 code units), never by locale', () => {
    fc.assert(
      fc.property(fc.array(awkwardText), (texts) => {
        // Act
        const sorted = [...texts].sort(compareCodeUnits);

        // Assess
        expect(sorted).toEqual([...texts].sort());
      }),
    );
  });
});

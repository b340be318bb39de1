/**
 * The shared text rules (lib/common/text.ts), each the merge of two former copies: the merged rule must give
 * what the old copies gave where they were used.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareCodeUnits,
  CUT_MARK,
  cutText,
  MAX_WORKFLOW_NAME_CHARS,
  oneLine,
  shownWorkflowName,
  wellFormed,
} from '../lib/common/text.js';

/** The JSON reader's former oneLine: control characters only. */
const readerOneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
/** The API client's former oneLine: whitespace only, trimmed. */
const clientOneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
/** Text with plenty of whitespace, control characters and surrogates (lone or paired). */
const awkwardText = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      ' ',
      '\t',
      '\n',
      '\r',
      '\u0000',
      '\u0001',
      '\u001b',
      '\u007f',
      '\u00a0',
      '\u2028',
      '\ud800',
      '\udc00',
      '😀',
    ),
    fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
  ),
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

describe('cutText and shownWorkflowName', () => {
  const codePoints = (text: string) => [...text].length;
  /** Long text of every width: ASCII, accents, CJK, emoji (surrogate pairs), lone surrogates, spaces. */
  const longText = fc.string({
    unit: fc.constantFrom('a', 'é', '日', '😀', '\ud800', '\udc00', ' ', '\n', '"'),
    maxLength: 600,
  });

  it('keeps at most `max` code points, marks a cut with "…", never splits a surrogate pair', () => {
    fc.assert(
      fc.property(longText, fc.integer({ min: 2, max: 300 }), (text, max) => {
        // Act
        const cut = cutText(text, max);

        // Assess
        expect(codePoints(cut)).toBeLessThanOrEqual(max);
        if (codePoints(text) <= max) expect(cut).toBe(text);
        else {
          expect(cut.endsWith(CUT_MARK)).toBe(true);
          const kept = cut.slice(0, -CUT_MARK.length);
          // A prefix of the text that ends between two of its code points (never inside a pair).
          expect(text.startsWith(kept)).toBe(true);
          expect(Array.from(kept)).toEqual(Array.from(text).slice(0, codePoints(kept)));
        }
      }),
    );
  });

  it('shows a workflow name cut to MAX_WORKFLOW_NAME_CHARS and well-formed, in either order', () => {
    fc.assert(
      fc.property(longText, (name) => {
        // Act
        const shown = shownWorkflowName(name);

        // Assess
        expect(shown).toBe(cutText(wellFormed(name), MAX_WORKFLOW_NAME_CHARS));
        expect(codePoints(shown)).toBeLessThanOrEqual(MAX_WORKFLOW_NAME_CHARS);
        expect(shown).not.toMatch(/[\uD800-\uDFFF]/u);
      }),
    );
  });

  it('cuts a 1 MB name to 200 characters', () => {
    // Prepare
    const name = '😀'.repeat(512 * 1024); // 1 MB of UTF-16, 512k code points

    // Act
    const shown = shownWorkflowName(name);

    // Assess
    expect(shown).toBe(`${'😀'.repeat(MAX_WORKFLOW_NAME_CHARS - 1)}…`);
  });

  it('is the rule of the CloudWatch dimension too (ASCII mark): 200 characters exactly at most', () => {
    // Act + Assess
    expect(cutText('x'.repeat(201), 200, '...')).toBe(`${'x'.repeat(197)}...`);
    expect(cutText('x'.repeat(200), 200, '...')).toBe('x'.repeat(200));
    expect(cutText(`${'x'.repeat(196)}    tail`, 200, '...')).toBe(`${'x'.repeat(196)}...`); // no space before the mark
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_ELEMENT_BYTES,
  JsonArrayStream,
  JsonStreamError,
  type JsonArrayStreamOptions,
} from '../lib/pull/json-stream.js';

/** Feeds the chunks and ends the stream; returns what was delivered. */
function parseChunks(chunks: readonly Uint8Array[], options?: JsonArrayStreamOptions): unknown[] {
  const elements: unknown[] = [];
  const stream = new JsonArrayStream((value) => elements.push(value), options);
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  expect(stream.elementCount).toBe(elements.length);
  return elements;
}

/** Splits at the given (unsorted, possibly repeated) positions; empty chunks included on purpose. */
function splitAt(bytes: Buffer, points: readonly number[]): Buffer[] {
  const sorted = [...points].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of sorted) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/** Runs `act`, which must throw a JsonStreamError, and returns it. */
function streamError(act: () => void): JsonStreamError {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(JsonStreamError);
    return error as JsonStreamError;
  }
  throw new Error('expected a JsonStreamError, nothing was thrown');
}

/** Strings that look like structure, escapes, unicode escapes and multi-byte UTF-8 (2, 3 and 4 bytes). */
const TRICKY_DOCUMENT = Buffer.from(
  `[
  {"id": "a]b}c", "name": "quote \\" inside", "path": "C:\\\\dir\\\\", "u": "\\u00e9\\ud83d\\ude00\\u005d"},
  {"name": "é中😀", "nested": {"a": [1, [2, {"b": "]]}}"}], {}]}, "list": [], "obj": {}},
  ["an", "array", "element", {"x": null}],
  "a string element with ] and , and \\\\",
  -12.5e3, 0, true, false, null,
  {"ends_with_backslash": "\\\\", "escaped_quote_last": "\\""}
]`,
  'utf8',
);

describe('JsonArrayStream: splitting', () => {
  it('delivers every element of a tricky document in one chunk', () => {
    // Act
    const elements = parseChunks([TRICKY_DOCUMENT]);

    // Assess
    expect(elements).toEqual(JSON.parse(TRICKY_DOCUMENT.toString('utf8')));
    expect(elements).toHaveLength(10);
  });

  it('delivers the same elements when split at every byte position', () => {
    // Prepare
    const expected: unknown = JSON.parse(TRICKY_DOCUMENT.toString('utf8'));

    for (let point = 0; point <= TRICKY_DOCUMENT.length; point++) {
      // Act
      const elements = parseChunks(splitAt(TRICKY_DOCUMENT, [point]));

      // Assess
      expect(elements, `split at ${point}`).toEqual(expected);
    }
  });

  it('delivers the same elements one byte at a time, as plain Uint8Array chunks', () => {
    // Prepare
    const chunks = Array.from(TRICKY_DOCUMENT, (byte) => Uint8Array.of(byte));

    // Act
    const elements = parseChunks(chunks);

    // Assess
    expect(elements).toEqual(JSON.parse(TRICKY_DOCUMENT.toString('utf8')));
  });

  it('delivers the same elements for random documents split at random points', () => {
    const tricky = fc.constantFrom('"', '\\', ']', '}', '[', '{', ',', ':', 'é', '中', '😀', 'a', '\n', '\u0000', ' ');
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }),
      fc.jsonValue({ maxDepth: 3, stringUnit: tricky }),
    );
    const documents = fc
      .tuple(fc.array(value, { maxLength: 12 }), fc.constantFrom<string | number | undefined>(undefined, 1, 2, '\t'))
      .map(([array, space]) => Buffer.from(JSON.stringify(array, null, space), 'utf8'));
    const scenario = documents.chain((document) =>
      fc.record({
        document: fc.constant(document),
        points: fc.array(fc.nat({ max: document.length }), { maxLength: 8 }),
        plain: fc.boolean(),
      }),
    );

    fc.assert(
      fc.property(scenario, ({ document, points, plain }) => {
        // Prepare
        const chunks = splitAt(document, points).map((chunk) => (plain ? new Uint8Array(chunk) : chunk));

        // Act
        const elements = parseChunks(chunks);

        // Assess
        expect(elements).toEqual(JSON.parse(document.toString('utf8')));
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps a multi-byte character intact when a chunk ends inside it', () => {
    // Prepare: 😀 is F0 9F 98 80; cut after each of its first three bytes
    const document = Buffer.from('[{"e":"😀"}]', 'utf8');
    const emojiStart = document.indexOf(0xf0);

    for (const cut of [emojiStart + 1, emojiStart + 2, emojiStart + 3]) {
      // Act
      const elements = parseChunks(splitAt(document, [cut]));

      // Assess
      expect(elements).toEqual([{ e: '😀' }]);
    }
  });

  it('does not end a string at a quote escaped in the previous chunk', () => {
    // Prepare: the backslash ends the first chunk, the escaped quote starts the second
    const document = Buffer.from('[{"a":"x\\"]"},"y\\"]"]', 'utf8');
    const cuts = [document.indexOf('\\') + 1, document.lastIndexOf('\\') + 1];

    // Act
    const elements = parseChunks(splitAt(document, cuts));

    // Assess
    expect(elements).toEqual([{ a: 'x"]' }, 'y"]']);
  });
});

describe('JsonArrayStream: accepted shapes', () => {
  it.each([
    ['empty array', '[]', []],
    ['spaced empty array', ' \t\r\n[ \r\n\t ] \n', []],
    ['BOM', '\ufeff[1]', [1]],
    ['BOM then whitespace', '\ufeff \n[ {} ]', [{}]],
    ['CRLF and tabs between tokens', '[\r\n\t{"a":1}\r\n\t,\r\n\t{"b":2}\r\n]\r\n', [{ a: 1 }, { b: 2 }]],
    ['no whitespace', '[{},[],"",0,null]', [{}, [], '', 0, null]],
    ['literals ended by whitespace', '[1 ,true\n,null\t]', [1, true, null]],
    ['deep nesting', `[${'['.repeat(500)}${']'.repeat(500)}]`, [JSON.parse(`${'['.repeat(500)}${']'.repeat(500)}`)]],
  ])('%s', (_label, text, expected) => {
    // Act
    const elements = parseChunks([Buffer.from(text, 'utf8')]);

    // Assess
    expect(elements).toEqual(expected);
  });

  it('accepts a BOM split across chunks', () => {
    // Prepare
    const document = Buffer.from('\ufeff[{"a":1}]', 'utf8');

    // Act
    const elements = parseChunks(splitAt(document, [1, 2]));

    // Assess
    expect(elements).toEqual([{ a: 1 }]);
  });

  it('delivers elements as each completes, before the stream ends', () => {
    // Prepare
    const seen: unknown[] = [];
    const stream = new JsonArrayStream((value) => seen.push(value));

    // Act
    stream.write(Buffer.from('[{"a":1},{"b"'));
    const afterFirstWrite = [...seen];
    stream.write(Buffer.from(':2}]'));
    stream.end();

    // Assess
    expect(afterFirstWrite).toEqual([{ a: 1 }]);
    expect(seen).toEqual([{ a: 1 }, { b: 2 }]);
    expect(stream.elementCount).toBe(2);
  });

  it('lets an error thrown by onElement through unchanged and stays failed', () => {
    // Prepare
    const boom = new Error('consumer failed');
    const stream = new JsonArrayStream(() => {
      throw boom;
    });

    // Act / Assess
    expect(() => stream.write(Buffer.from('[1,2]'))).toThrow(boom);
    expect(() => stream.end()).toThrow(boom);
  });
});

describe('JsonArrayStream: truncation', () => {
  it('throws from end() for every strict prefix, having delivered only whole elements', () => {
    // Prepare
    const document = TRICKY_DOCUMENT;
    const all = JSON.parse(document.toString('utf8')) as unknown[];

    for (let length = 0; length < document.length; length++) {
      const prefix = document.subarray(0, length);
      const seen: unknown[] = [];
      const stream = new JsonArrayStream((value) => seen.push(value));
      // Split the prefix too, so truncation is also checked with carried-over bytes.
      const [head, tail] = splitAt(prefix, [length >> 1]) as [Buffer, Buffer];

      // Act
      stream.write(head);
      stream.write(tail);
      const error = streamError(() => stream.end());

      // Assess
      expect(error.offset, `prefix ${length}`).toBe(length);
      expect(seen, `prefix ${length}`).toEqual(all.slice(0, seen.length));
    }
  });

  it.each([
    ['empty body', '', /empty body/],
    ['whitespace only', ' \n ', /empty body/],
    ['BOM only', '\ufeff', /byte order mark/],
    ['unterminated array', '[{"a":1}', /not terminated \(1 complete elements, then the end of the body\)/],
    ['after a comma', '[1,', /not terminated/],
    ['unterminated element', '[{"a":[1', /an unterminated element/],
    ['unterminated string in element', '[{"a":"]}', /unterminated string inside an element/],
    ['unterminated string element', '["abc', /unterminated string element/],
    ['literal cut short', '[1, 23', /element cut short/],
    ['escape at the end', '["\\', /unterminated string element/],
  ])('%s', (_label, text, message) => {
    // Prepare
    const stream = new JsonArrayStream(() => undefined);
    stream.write(Buffer.from(text, 'utf8'));

    // Act
    const error = streamError(() => stream.end());

    // Assess
    expect(error.message).toMatch(message);
    expect(error.offset).toBe(Buffer.byteLength(text));
  });
});

describe('JsonArrayStream: invalid input', () => {
  it.each([
    ['trailing garbage', '[1]x', 3, /unexpected 'x', expected nothing after the closing bracket/],
    ['second array', '[1] [2]', 4, /unexpected '\['/],
    ['trailing comma after the array', '[1],', 3, /unexpected ','/],
    ['missing comma', '[1 2]', 3, /unexpected '2', expected ',' or '\]'/],
    ['missing comma between objects', '[{} {}]', 4, /unexpected '\{'/],
    ['leading comma', '[,1]', 1, /unexpected ',', expected an array element/],
    ['trailing comma in the array', '[1,]', 3, /unexpected '\]', expected an array element/],
    ['double comma', '[1,,2]', 3, /unexpected ','/],
    ['closing brace', '[}]', 1, /unexpected '\}'/],
    ['incomplete BOM', '\xef\xbb[1]', 2, /incomplete UTF-8 byte order mark/],
    ['BOM after whitespace', ' \xef\xbb\xbf[1]', 1, /^top level is not JSON \(starts with byte 0xEF\), not an array$/],
  ])('%s', (_label, text, offset, message) => {
    // Prepare: latin1 so `\xef` is the byte 0xEF (every other text here is ASCII)
    const bytes = Buffer.from(text, 'latin1');

    // Act
    const error = streamError(() => parseChunks([bytes]));

    // Assess
    expect(error.offset).toBe(offset);
    expect(error.message).toMatch(message);
  });

  it('reports invalid JSON inside an element with its index and byte offset', () => {
    // Prepare: `{"a" 1}` starts at offset 9; V8 stops at position 5 (the `1`)
    const document = Buffer.from('[{"a":1},{"a" 1}]');

    // Act
    const error = streamError(() => parseChunks([document]));

    // Assess
    expect(error.offset).toBe(14);
    expect(error.message).toMatch(/^invalid JSON in array element at index 1 \(starting at offset 9\): Expected ':'/);
  });

  it('counts the byte offset in UTF-8 bytes, not characters', () => {
    // Prepare: `é` is two bytes, so the stray `"b"` starts at byte 9 although it is character 8
    const document = Buffer.from('[{"é":1 "b"}]', 'utf8');

    // Act
    const error = streamError(() => parseChunks(splitAt(document, [4])));

    // Assess
    expect(error.offset).toBe(9);
  });

  it('falls back to the element offset when the parser gives no position, and keeps the message on one line', () => {
    // Prepare
    const document = Buffer.from('[1, {"b":\ntru}]');

    // Act
    const error = streamError(() => parseChunks([document]));

    // Assess
    expect(error.offset).toBe(4);
    expect(error.message).toContain('index 1');
    expect(error.message).not.toContain('\n');
  });

  it.each([
    ['bad literal', '[nul]'],
    ['raw control character in a string', '[{"a":"x\u0001"}]'],
    ['raw newline in a string element', '["a\nb"]'],
    ['mismatched brackets', '[{"a":[1}]]'],
    ['bad escape', '["\\x"]'],
    ['number with trailing junk', '[12abc]'],
  ])('rejects %s', (_label, text) => {
    // Act / Assess
    streamError(() => parseChunks([Buffer.from(text, 'utf8')]));
  });

  it('rethrows the first error on every later call', () => {
    // Prepare
    const stream = new JsonArrayStream(() => undefined);
    const first = streamError(() => stream.write(Buffer.from('[1 2]')));

    // Act / Assess
    expect(() => stream.write(Buffer.from(']'))).toThrow(first);
    expect(() => stream.end()).toThrow(first);
  });
});

describe('JsonArrayStream: top level not an array', () => {
  it('quotes a string detail of an error object', () => {
    // Prepare
    const body = '{"detail": "API key is missing, please provide an API key in the header."}';

    // Act
    const error = streamError(() => parseChunks([Buffer.from(body)]));

    // Assess
    expect(error.message).toBe(
      'top level is an object, not an array: detail: API key is missing, please provide an API key in the header.',
    );
    expect(error.offset).toBe(0);
  });

  it('quotes a FastAPI validation detail list, split across chunks, after whitespace', () => {
    // Prepare
    const body = Buffer.from(
      ' \n{"detail": [{"loc": ["query", "status"], "msg": "bad \\"value\\"", "type": "value_error"}]}',
    );

    // Act
    const error = streamError(() => parseChunks(splitAt(body, [5, 20, 40])));

    // Assess
    expect(error.message).toBe(
      'top level is an object, not an array: detail: [{"loc":["query","status"],"msg":"bad \\"value\\"","type":"value_error"}]',
    );
    expect(error.offset).toBe(2);
  });

  it('cuts a long detail to at most 200 characters on one line', () => {
    // Prepare
    const detail = `line one\nline two ${'x'.repeat(1000)}`;

    // Act
    const error = streamError(() => parseChunks([Buffer.from(JSON.stringify({ detail }))]));

    // Assess
    const excerpt = error.message.slice('top level is an object, not an array: detail: '.length);
    expect(error.message.startsWith('top level is an object, not an array: detail: line one line two xxx')).toBe(true);
    expect(excerpt.length).toBeLessThanOrEqual(200);
    expect(excerpt.endsWith('…')).toBe(true);
    expect(error.message).not.toContain('\n');
  });

  it.each([
    ['no detail', '{"error": "nope"}'],
    ['a numeric detail', '{"detail": 42}'],
    ['an object detail', '{"detail": {"msg": "x"}}'],
    ['invalid JSON', '{"detail": "x",}'],
  ])('says only that the top level is an object for %s', (_label, body) => {
    // Act
    const error = streamError(() => parseChunks([Buffer.from(body)]));

    // Assess
    expect(error.message).toBe('top level is an object, not an array');
  });

  it('says the top level is an object when the object is truncated', () => {
    // Act
    const error = streamError(() => parseChunks([Buffer.from('{"detail": "API key')]));

    // Assess
    expect(error.message).toBe('top level is an object, not an array (and the object is truncated)');
  });

  it('does not buffer a huge top-level object', () => {
    // Prepare
    const body = Buffer.from(JSON.stringify({ detail: 'x'.repeat(100 * 1024) }));

    // Act
    const error = streamError(() => parseChunks(splitAt(body, [1000, 50_000, 90_000])));

    // Assess
    expect(error.message).toMatch(/^top level is an object, not an array \(over 65536 bytes, not quoted\)$/);
  });

  it.each([
    ['a string', '"hello"', 'top level is a string, not an array'],
    ['a number', '42', 'top level is a number, not an array'],
    ['a negative number', '-1', 'top level is a number, not an array'],
    ['a boolean', 'true', 'top level is a boolean, not an array'],
    ['null', ' null', 'top level is null, not an array'],
    ['HTML', '<html>', "top level is not JSON (starts with '<'), not an array"],
  ])('names %s at the top level', (_label, body, message) => {
    // Act
    const error = streamError(() => parseChunks([Buffer.from(body)]));

    // Assess
    expect(error.message).toBe(message);
    expect(error.offset).toBe(body.length - body.trimStart().length);
  });
});

describe('JsonArrayStream: element size limit', () => {
  const element = JSON.stringify({ name: 'x'.repeat(90) }); // 103 bytes

  it('accepts an element of exactly maxElementBytes, in one chunk or many', () => {
    // Prepare
    const document = Buffer.from(`[${element}]`);
    const max = Buffer.byteLength(element);

    // Act
    const whole = parseChunks([document], { maxElementBytes: max });
    const split = parseChunks(splitAt(document, [10, 50, 90]), { maxElementBytes: max });

    // Assess
    expect(whole).toEqual([JSON.parse(element)]);
    expect(split).toEqual(whole);
  });

  it.each([
    ['in one chunk', [] as number[]],
    ['across chunks', [10, 50, 90]],
    ['a byte at a time', Array.from({ length: 110 }, (_, i) => i)],
  ])('throws for an element one byte over the limit %s', (_label, points) => {
    // Prepare
    const document = Buffer.from(`[1,${element}]`);
    const max = Buffer.byteLength(element) - 1;

    // Act
    const error = streamError(() => parseChunks(splitAt(document, points), { maxElementBytes: max }));

    // Assess
    expect(error.message).toBe(`array element at index 1 (starting at offset 3) exceeds the limit of ${max} bytes`);
  });

  it('applies to string and literal elements too', () => {
    // Act / Assess
    streamError(() => parseChunks([Buffer.from('["abcdefghij"]')], { maxElementBytes: 5 }));
    streamError(() => parseChunks(splitAt(Buffer.from('[1234567890]'), [4]), { maxElementBytes: 5 }));
  });

  /** Parses with onOversized: the values delivered and the (index, offset) of each element passed over. */
  function parseSkipping(
    chunks: readonly Uint8Array[],
    maxElementBytes: number,
  ): { values: unknown[]; oversized: number[][]; count: number } {
    const values: unknown[] = [];
    const oversized: number[][] = [];
    const stream = new JsonArrayStream((value) => values.push(value), {
      maxElementBytes,
      onOversized: (index, offset) => oversized.push([index, offset]),
    });
    for (const chunk of chunks) stream.write(chunk);
    stream.end();
    return { values, oversized, count: stream.elementCount };
  }

  it.each([
    ['in one chunk', [] as number[]],
    ['across chunks', [10, 50, 90]],
    ['a byte at a time', Array.from({ length: 120 }, (_, i) => i)],
  ])('with onOversized, passes over an element one byte over the limit %s and goes on', (_label, points) => {
    // Prepare: the oversized element holds every character that could end it early if misread.
    const big = JSON.stringify({ a: 'x]}\\"[{,', b: [1, { c: '"]' }], d: 'x'.repeat(40) });
    const document = Buffer.from(`[1,${big},{"after":true},"s"]`);
    const max = Buffer.byteLength(big) - 1;

    // Act
    const result = parseSkipping(splitAt(document, points), max);

    // Assess
    expect(result.values).toEqual([1, { after: true }, 's']);
    expect(result.oversized).toEqual([[1, 3]]);
    expect(result.count).toBe(4);
  });

  it('with onOversized, passes over string and literal elements, and oversized elements back to back', () => {
    // Prepare
    const document = Buffer.from('["abcdefghij",1234567890,[1,2,3,4,5],{"k":"vvvv"},"ok",7]');
    for (const points of [[], [4, 15, 30], Array.from({ length: document.length }, (_, i) => i)]) {
      // Act
      const result = parseSkipping(splitAt(document, points), 5);

      // Assess
      expect(result.values).toEqual(['ok', 7]);
      expect(result.oversized.map(([index]) => index)).toEqual([0, 1, 2, 3]);
      expect(result.count).toBe(6);
    }
  });

  it('with onOversized, still fails a body that ends inside an oversized element, or is broken after it', () => {
    // Act / Assess
    const truncated = streamError(() => parseSkipping(splitAt(Buffer.from('[1,{"a":"xxxxxxxxxxxx'), [6]), 5));
    expect(truncated.message).toContain(
      'truncated JSON: the array is not terminated (1 complete elements, then an unterminated string inside an element)',
    );
    streamError(() => parseSkipping([Buffer.from('[{"a":"xxxxxxxxxxxx"} x]')], 5));
  });

  it('with onOversized, holds at most the limit of an element of any size: a 96 MiB element in 1 MiB chunks', () => {
    // Prepare: one 1 MiB chunk of string content, written again and again (the test holds nothing else).
    const filler = Buffer.alloc(1 << 20, 'x');
    const max = 4 << 20;
    let values = 0;
    const oversized: number[] = [];
    const stream = new JsonArrayStream(() => values++, {
      maxElementBytes: max,
      onOversized: (index) => oversized.push(index),
    });
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;

    // Act
    stream.write(Buffer.from('[{"id":1},{"blob":"'));
    for (let i = 0; i < 96; i++) {
      stream.write(filler);
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    stream.write(Buffer.from('"},{"id":2}]'));
    stream.end();

    // Assess: two elements delivered, one passed over; never more than the limit held: the carry-over
    // buffer grows by doubling to 4 MiB (the old and the new one briefly both alive, and dropped ones count
    // until a GC), far from the element's 96 MiB.
    expect(values).toBe(2);
    expect(oversized).toEqual([1]);
    expect(peak).toBeLessThan(2 * max + (2 << 20));
  });

  it('defaults to 16 MiB and refuses a nonsensical limit', () => {
    // Act / Assess
    expect(DEFAULT_MAX_ELEMENT_BYTES).toBe(16 * 1024 * 1024);
    expect(() => new JsonArrayStream(() => undefined, { maxElementBytes: 0 })).toThrow(RangeError);
    expect(() => new JsonArrayStream(() => undefined, { maxElementBytes: 1.5 })).toThrow(RangeError);
  });
});

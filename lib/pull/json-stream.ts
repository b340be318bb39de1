/**
 * Streaming parser for a top-level JSON array, element by element, with bounded memory.
 *
 * The jobs list has no pagination: a busy account sends hundreds of MB in one array. Holding that as one
 * string (plus its parsed tree) would need gigabytes, so the bytes are scanned as they arrive: a tight loop
 * over char codes tracks string/escape state and nesting depth to find where each top-level element starts
 * and ends, and only that element is decoded (UTF-8) and handed to JSON.parse. Between chunks only the bytes
 * of the element in progress are kept.
 *
 * The scanner only finds boundaries; JSON.parse is the validator of each element. Structure outside the
 * elements (`[`, `,`, `]`, whitespace) is checked here. Invalid UTF-8 inside an element is replaced by
 * U+FFFD, as `response.text()` would do.
 *
 * Fast path: with an `objectScanner` (the job collector passes JobRecordScanner), each object element is first
 * offered to it, in place in the chunk (or whole, once complete, when it spanned chunks). The scanner either
 * consumes the element — having validated every byte of it exactly as JSON.parse would — or declines it, and
 * the element goes to JSON.parse and onElement as above. Errors, offsets and element counts are unchanged.
 *
 * An element over maxElementBytes fails the stream, or, with `onOversized`, is passed over: its bytes are
 * dropped as soon as it is known to be too large (at most maxElementBytes are ever held), the rest of it is
 * only scanned for where it ends (strings, escapes and nesting tracked as for any element, nothing kept), and
 * the array goes on. Such an element is not validated beyond that.
 */
import { oneLine } from '../common/text.js';

/** A body that is not a (complete) JSON array, with where it went wrong. */
export class JsonStreamError extends Error {
  /** Byte offset in the stream (counted from its first byte, BOM included) where the problem was found. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.name = 'JsonStreamError';
    this.offset = offset;
  }
}

export interface JsonArrayStreamOptions {
  /**
   * Largest element accepted, in bytes; a larger one fails the stream, or is passed to `onOversized`.
   * Default DEFAULT_MAX_ELEMENT_BYTES.
   */
  readonly maxElementBytes?: number;
  /**
   * Called, in place of delivering it, for each element over maxElementBytes (its index in the array and the
   * stream offset of its first byte), which is then passed over without being buffered or parsed. Without
   * it, such an element fails the stream.
   */
  readonly onOversized?: (index: number, offset: number) => void;
  /**
   * A fast path for elements that are objects: offered each one before JSON.parse is (see ObjectScanner).
   * Elements it consumes are counted in elementCount but never reach onElement.
   */
  readonly objectScanner?: ObjectScanner;
}

/**
 * Reads an object element straight from the bytes. `scan(bytes, start, limit)` is called with bytes[start]
 * being the element's `{`; it either consumes the whole element — it has validated it as JSON exactly as
 * JSON.parse would and delivered it itself — and returns the index just after it (≤ limit), or it consumes
 * nothing and returns OBJECT_SCAN_NEED_MORE (the element goes on past `limit`; it is offered again, whole,
 * once complete) or OBJECT_SCAN_DECLINE (the element goes to JSON.parse and onElement, as without a scanner).
 */
export interface ObjectScanner {
  scan(bytes: Buffer, start: number, limit: number): number;
}

export const OBJECT_SCAN_NEED_MORE = -1;
export const OBJECT_SCAN_DECLINE = -2;

/**
 * A job record is ~460 bytes; 16 MiB is far beyond any plausible record (even with thousands of output
 * files) while bounding what one malformed or hostile element can make us buffer.
 */
export const DEFAULT_MAX_ELEMENT_BYTES = 16 * 1024 * 1024;

/**
 * A top-level object is buffered only to quote its `detail` in the error; error bodies are small, and 64 KiB
 * bounds the memory spent on a body that is wrong anyway.
 */
const MAX_TOP_LEVEL_OBJECT_BYTES = 64 * 1024;

/** Longest excerpt of an error object's `detail` quoted in the message (keeps log lines short). */
const MAX_DETAIL_EXCERPT_CHARS = 200;

/** Capacity kept for the carry-over buffer after a large element, so one big element does not pin memory. */
const RETAINED_CARRY_BYTES = 64 * 1024;

const State = {
  /** Before the top-level value: BOM, whitespace. */
  Start: 0,
  /** After `[`: an element or `]`. */
  First: 1,
  /** After `,`: an element. */
  Next: 2,
  /** Inside an object or array element (or the top-level object). */
  Container: 3,
  /** Inside a string element. */
  StringElement: 4,
  /** Inside a number, `true`, `false` or `null` element. */
  Literal: 5,
  /** After an element: `,` or `]`. */
  After: 6,
  /** After the closing `]`: whitespace only. */
  Done: 7,
  /** An error was thrown; every further call rethrows it. */
  Failed: 8,
} as const;
type State = (typeof State)[keyof typeof State];

export class JsonArrayStream {
  readonly #onElement: (value: unknown) => void;
  readonly #maxElementBytes: number;
  readonly #scanner: ObjectScanner | undefined;
  readonly #onOversized: ((index: number, offset: number) => void) | undefined;
  /** The object scanner declined the element in progress: do not offer it again. */
  #declined = false;
  /** The element in progress is over the limit: scanned to its end, not kept (see onOversized). */
  #skipping = false;

  #state: State = State.Start;
  /** Bytes of the chunks written before the current one. */
  #consumed = 0;
  /** BOM bytes matched at the start of the stream (0–3). */
  #bomMatched = 0;
  #elementCount = 0;
  /** Stream offset of the first byte of the element in progress. */
  #elementOffset = 0;
  /** Nesting depth inside a Container element. */
  #depth = 0;
  #inString = false;
  /** The previous byte inside a string was an unconsumed backslash (it ended the previous chunk). */
  #escaped = false;
  /** The container in progress is the top-level object (an error body), not an element. */
  #topLevelObject = false;
  /** Bytes of the element in progress from earlier chunks. */
  #carry: Buffer = Buffer.allocUnsafe(0);
  #carryLength = 0;
  #failure: unknown;

  constructor(onElement: (value: unknown) => void, options: JsonArrayStreamOptions = {}) {
    const max = options.maxElementBytes ?? DEFAULT_MAX_ELEMENT_BYTES;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`maxElementBytes must be a positive integer, got ${String(max)}`);
    }
    this.#onElement = onElement;
    this.#maxElementBytes = max;
    this.#scanner = options.objectScanner;
    this.#onOversized = options.onOversized;
  }

  /** Elements read so far: delivered to onElement, consumed by the object scanner, or passed over as oversized. */
  get elementCount(): number {
    return this.#elementCount;
  }

  /** Scans one chunk, delivering every element it completes. Throws JsonStreamError on invalid input. */
  write(chunk: Uint8Array): void {
    if (this.#state === State.Failed) throw this.#failure;
    try {
      this.#scan(chunk);
    } catch (error) {
      this.#state = State.Failed;
      this.#failure = error;
      throw error;
    }
  }

  /** Declares the stream complete. Throws JsonStreamError unless exactly one whole array was written. */
  end(): void {
    if (this.#state === State.Failed) throw this.#failure;
    if (this.#state === State.Done) return;
    const offset = this.#consumed;
    let error: JsonStreamError;
    if (this.#state === State.Start) {
      error = new JsonStreamError(
        this.#bomMatched === 0
          ? 'empty body: expected a JSON array'
          : 'body holds nothing but a byte order mark: expected a JSON array',
        offset,
      );
    } else if (this.#topLevelObject) {
      error = new JsonStreamError('top level is an object, not an array (and the object is truncated)', offset);
    } else {
      error = new JsonStreamError(
        `truncated JSON: the array is not terminated (${this.#elementCount} complete elements, then ${describeTruncation(this.#state, this.#inString)})`,
        offset,
      );
    }
    this.#state = State.Failed;
    this.#failure = error;
    throw error;
  }

  #scan(chunk: Uint8Array): void {
    const bytes = chunk;
    const length = bytes.length;
    // A no-copy Buffer view so elements decode with the native utf8 slice.
    const view = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const base = this.#consumed;
    let state = this.#state;
    /** Where the element in progress starts in this chunk (0 when it began in an earlier one). */
    let start = 0;
    let i = 0;

    while (i < length) {
      switch (state) {
        case State.Container: {
          // Locals for the hot loop; written back when the element ends or the chunk does.
          let depth = this.#depth;
          let inString = this.#inString;
          if (this.#escaped) {
            this.#escaped = false;
            i++; // the escaped byte: `"` or `\` must not count
          }
          scan: while (i < length) {
            if (inString) {
              for (;;) {
                const b = bytes[i]!;
                if (b === QUOTE) {
                  inString = false;
                  i++;
                  continue scan;
                }
                if (b === BACKSLASH) {
                  if (i + 1 === length) {
                    this.#escaped = true;
                    i++;
                    break scan;
                  }
                  i += 2;
                } else i++;
                if (i >= length) break scan;
              }
            }
            const b = bytes[i++]!;
            if (b === QUOTE) inString = true;
            else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
            else if ((b === CLOSE_BRACE || b === CLOSE_BRACKET) && --depth === 0) {
              this.#depth = 0;
              this.#inString = false;
              if (this.#topLevelObject) this.#failTopLevelObject(view, start, i);
              this.#complete(view, start, i, base);
              state = State.After;
              break;
            }
          }
          if (state === State.Container) {
            this.#depth = depth;
            this.#inString = inString;
          }
          break;
        }

        case State.After: {
          const b = bytes[i]!;
          if (b === COMMA) state = State.Next;
          else if (b === CLOSE_BRACKET) state = State.Done;
          else if (!isWhitespace(b)) throw this.#unexpected(b, base + i, "',' or ']' after an array element");
          i++;
          break;
        }

        case State.First:
        case State.Next: {
          const b = bytes[i]!;
          if (isWhitespace(b)) {
            i++;
            break;
          }
          if (b === CLOSE_BRACKET && state === State.First) {
            state = State.Done;
            i++;
            break;
          }
          if (b === COMMA || b === CLOSE_BRACKET || b === CLOSE_BRACE || b === COLON) {
            throw this.#unexpected(b, base + i, 'an array element');
          }
          start = i;
          this.#elementOffset = base + i;
          if (b === OPEN_BRACE && this.#scanner !== undefined) {
            // Fast path: the whole element in this chunk, read in place. Capped so an element over the
            // size limit is not consumed but reported like any other (by #complete or #carryOver).
            const end = this.#scanner.scan(view, i, Math.min(length, i + this.#maxElementBytes));
            if (end >= 0) {
              this.#elementCount++;
              state = State.After;
              i = end;
              break;
            }
            this.#declined = end === OBJECT_SCAN_DECLINE;
          }
          if (b === OPEN_BRACE || b === OPEN_BRACKET) {
            state = State.Container;
            this.#depth = 1;
            this.#inString = false;
          } else if (b === QUOTE) state = State.StringElement;
          else state = State.Literal;
          i++;
          break;
        }

        case State.StringElement: {
          if (this.#escaped) {
            this.#escaped = false;
            i++;
          }
          while (i < length) {
            const b = bytes[i]!;
            if (b === QUOTE) {
              i++;
              this.#complete(view, start, i, base);
              state = State.After;
              break;
            }
            if (b === BACKSLASH) {
              if (i + 1 === length) this.#escaped = true;
              i += 2;
            } else i++;
          }
          break;
        }

        case State.Literal: {
          // A number or keyword ends at the first structural byte or whitespace; JSON.parse judges its text.
          while (i < length) {
            const b = bytes[i]!;
            if (b === COMMA || b === CLOSE_BRACKET || isWhitespace(b)) {
              this.#complete(view, start, i, base);
              state = State.After;
              break;
            }
            i++;
          }
          break;
        }

        case State.Start: {
          const b = bytes[i]!;
          const offset = base + i;
          if (this.#bomMatched < 3 && offset === this.#bomMatched && b === BOM[offset]) {
            this.#bomMatched++;
            i++;
            break;
          }
          if (this.#bomMatched === 1 || this.#bomMatched === 2) {
            throw new JsonStreamError(
              `invalid byte 0x${hex(b)} at offset ${offset}: incomplete UTF-8 byte order mark`,
              offset,
            );
          }
          if (isWhitespace(b)) {
            i++;
            break;
          }
          if (b === OPEN_BRACKET) state = State.First;
          else if (b === OPEN_BRACE) {
            // Most likely an error body (`{"detail": …}`) sent with a success status: keep it to quote it.
            state = State.Container;
            start = i;
            this.#elementOffset = offset;
            this.#depth = 1;
            this.#inString = false;
            this.#topLevelObject = true;
          } else throw new JsonStreamError(`top level is ${describeTopLevel(b)}, not an array`, offset);
          i++;
          break;
        }

        case State.Done: {
          const b = bytes[i]!;
          if (!isWhitespace(b)) throw this.#unexpected(b, base + i, 'nothing after the closing bracket of the array');
          i++;
          break;
        }

        default:
          throw new JsonStreamError('internal error: write() after a failure', base + i);
      }
    }

    // The element in progress continues in the next chunk: keep only its bytes.
    if (state === State.Container || state === State.StringElement || state === State.Literal) {
      this.#carryOver(bytes, start, length, base);
    }
    this.#state = state;
    this.#consumed = base + length;
  }

  /** Decodes and parses the element ending at `end` (exclusive) in this chunk, and delivers it. */
  #complete(view: Buffer, start: number, end: number, base: number): void {
    if (this.#skipping) {
      this.#passOver();
      return;
    }
    const size = this.#carryLength + (end - start);
    if (size > this.#maxElementBytes) {
      if (this.#onOversized === undefined) throw this.#tooLarge(base + end);
      this.#passOver();
      return;
    }
    const declined = this.#declined;
    this.#declined = false;
    let text: string;
    if (this.#carryLength === 0) text = view.toString('utf8', start, end);
    else {
      this.#append(view, start, end);
      // An object that spanned chunks: offer it, whole, to the fast path.
      if (this.#scanner !== undefined && !declined && this.#carry[0] === OPEN_BRACE) {
        const consumed = this.#scanner.scan(this.#carry, 0, this.#carryLength);
        if (consumed >= 0) {
          if (consumed !== this.#carryLength)
            throw new JsonStreamError('internal error: the object scanner ended an element elsewhere', base + end);
          this.#releaseCarry();
          this.#elementCount++;
          return;
        }
      }
      text = this.#carry.toString('utf8', 0, this.#carryLength);
      this.#releaseCarry();
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw this.#invalidElement(error, text);
    }
    this.#elementCount++;
    this.#onElement(value);
  }

  #carryOver(bytes: Uint8Array, start: number, end: number, base: number): void {
    if (this.#skipping) return;
    const limit = this.#topLevelObject
      ? Math.min(MAX_TOP_LEVEL_OBJECT_BYTES, this.#maxElementBytes)
      : this.#maxElementBytes;
    if (this.#carryLength + (end - start) > limit) {
      if (this.#topLevelObject) {
        throw new JsonStreamError(`top level is an object, not an array (over ${limit} bytes, not quoted)`, base + end);
      }
      if (this.#onOversized === undefined) throw this.#tooLarge(base + end);
      // Too large: drop what is held; the scan goes on to the element's end, keeping nothing.
      this.#skipping = true;
      this.#releaseCarry();
      return;
    }
    this.#append(bytes, start, end);
  }

  /** The oversized element in progress has ended: report it in its place, and go on. */
  #passOver(): void {
    this.#skipping = false;
    this.#declined = false;
    this.#releaseCarry();
    const index = this.#elementCount++;
    (this.#onOversized as (index: number, offset: number) => void)(index, this.#elementOffset);
  }

  #append(bytes: Uint8Array, start: number, end: number): void {
    const needed = this.#carryLength + (end - start);
    if (needed > this.#carry.length) {
      // Doubling keeps an element spread over many small chunks linear in its size.
      const grown = Buffer.allocUnsafe(
        Math.min(Math.max(needed, this.#carry.length * 2, 1024), Math.max(needed, this.#maxElementBytes)),
      );
      grown.set(this.#carry.subarray(0, this.#carryLength));
      this.#carry = grown;
    }
    this.#carry.set(bytes.subarray(start, end), this.#carryLength);
    this.#carryLength = needed;
  }

  #releaseCarry(): void {
    this.#carryLength = 0;
    if (this.#carry.length > RETAINED_CARRY_BYTES) this.#carry = Buffer.allocUnsafe(0);
  }

  #failTopLevelObject(view: Buffer, start: number, end: number): never {
    const size = this.#carryLength + (end - start);
    if (size > MAX_TOP_LEVEL_OBJECT_BYTES) {
      throw new JsonStreamError(
        `top level is an object, not an array (over ${MAX_TOP_LEVEL_OBJECT_BYTES} bytes, not quoted)`,
        this.#elementOffset,
      );
    }
    let text: string;
    if (this.#carryLength === 0) text = view.toString('utf8', start, end);
    else {
      this.#append(view, start, end);
      text = this.#carry.toString('utf8', 0, this.#carryLength);
    }
    const excerpt = detailExcerpt(text);
    throw new JsonStreamError(
      `top level is an object, not an array${excerpt === undefined ? '' : `: detail: ${excerpt}`}`,
      this.#elementOffset,
    );
  }

  #tooLarge(offset: number): JsonStreamError {
    return new JsonStreamError(
      `array element at index ${this.#elementCount} (starting at offset ${this.#elementOffset}) exceeds the limit of ${this.#maxElementBytes} bytes`,
      offset,
    );
  }

  #invalidElement(error: unknown, text: string): JsonStreamError {
    const reason = withoutSourceExcerpt(oneLine(error instanceof Error ? error.message : String(error)));
    // V8 reports a UTF-16 position in the decoded text for most errors; turn it into a stream byte offset.
    // Without one (e.g. "Unexpected token"), the element's own offset is the best there is.
    const position = /at position (\d+)/.exec(reason)?.[1];
    const offset =
      position === undefined
        ? this.#elementOffset
        : this.#elementOffset + Buffer.byteLength(text.slice(0, Number(position)));
    return new JsonStreamError(
      `invalid JSON in array element at index ${this.#elementCount} (starting at offset ${this.#elementOffset}): ${reason}`,
      offset,
    );
  }

  #unexpected(byte: number, offset: number, expected: string): JsonStreamError {
    return new JsonStreamError(
      `invalid JSON at offset ${offset}: unexpected ${describeByte(byte)}, expected ${expected}`,
      offset,
    );
  }
}

/**
 * A JSON.parse message without the source V8 quotes in it (`Unexpected token 'k', "{"a": key-012345"... is not
 * valid JSON`: about ten characters either side of the error). The source is the upstream's answer, which may
 * echo the API key: ten characters of it went into the log and onto the status page. V8 writes its own words
 * with single quotes, so everything from the first double quote to the last is the excerpt.
 */
export function withoutSourceExcerpt(message: string): string {
  const first = message.indexOf('"');
  if (first < 0) return message;
  const head = message.slice(0, first).replace(/[\s,.]+$/, '');
  return `${head === '' ? 'not valid JSON' : head} (source not quoted)`;
}

const BOM = [0xef, 0xbb, 0xbf] as const;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** JSON's four whitespace bytes (RFC 8259 §2); anything else between tokens is an error. */
function isWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function hex(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

function describeByte(b: number): string {
  return b >= 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `byte 0x${hex(b)}`;
}

function describeTopLevel(b: number): string {
  if (b === QUOTE) return 'a string';
  if (b === 0x2d || (b >= 0x30 && b <= 0x39)) return 'a number';
  if (b === 0x74 || b === 0x66) return 'a boolean';
  if (b === 0x6e) return 'null';
  return `not JSON (starts with ${describeByte(b)})`;
}

function describeTruncation(state: State, inString: boolean): string {
  switch (state) {
    case State.Container:
      return inString ? 'an unterminated string inside an element' : 'an unterminated element';
    case State.StringElement:
      return 'an unterminated string element';
    case State.Literal:
      return 'an element cut short';
    default:
      return 'the end of the body';
  }
}

/** A short one-line quote of an error object's `detail` (a string, or FastAPI's list of errors). */
function detailExcerpt(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const detail = (parsed as { detail?: unknown }).detail;
  let shown: string;
  if (typeof detail === 'string') shown = detail;
  else if (Array.isArray(detail)) shown = JSON.stringify(detail);
  else return undefined;
  shown = oneLine(shown);
  if (shown.length <= MAX_DETAIL_EXCERPT_CHARS) return shown;
  let cut = MAX_DETAIL_EXCERPT_CHARS - 1;
  // Do not leave half a surrogate pair before the ellipsis.
  const last = shown.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return `${shown.slice(0, cut)}…`;
}

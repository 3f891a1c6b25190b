/**
 * JSON.parse with errors that say where: V8's messages give a position only for some mistakes
 * ("Unexpected token '}', "{"a": }" is not valid JSON" has none), so on failure a small scanner
 * finds the offset of the first error and it is reported as line:column.
 */

export interface JsonSyntaxError {
  /** 1-based; 0 when the scanner could not tell (a document nested too deep to scan). */
  line: number;
  column: number;
  /** What was found there, e.g. `unexpected "}"` or `unexpected end of input`. */
  reason: string;
}

/** Parses `text`; returns `{ value }` or `{ error }` with the first error's line and column (1-based). */
export function parseJson(text: string): { value: unknown } | { error: JsonSyntaxError } {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { value: JSON.parse(source) };
  } catch (error) {
    let offset: number;
    try {
      offset = syntaxErrorOffset(source);
    } catch {
      return { error: { line: 0, column: 0, reason: (error as Error).message.split('\n')[0]! } };
    }
    const before = source.slice(0, offset).split('\n');
    const found = source[offset];
    return {
      error: {
        line: before.length,
        column: before[before.length - 1]!.length + 1,
        reason: found === undefined ? 'unexpected end of input' : `unexpected ${JSON.stringify(found)}`,
      },
    };
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Offset of the first syntax error in `text` (RFC 8259 grammar); `text.length` for a truncated document. */
export function syntaxErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw new SyntaxAt(i);
  };
  const space = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const string = (): void => {
    i++; // the opening quote
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') return void i++;
      if (c === '\\') {
        i++;
        if (text[i] !== undefined && '"\\/bfnrt'.includes(text[i]!)) i++;
        else if (text[i] === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) i += 5;
        else fail();
      } else if (c < ' ') fail();
      else i++;
    }
    fail();
  };
  const sequence = (close: string, item: () => void): void => {
    i++;
    space();
    if (text[i] === close) return void i++;
    for (;;) {
      item();
      space();
      if (text[i] === ',') {
        i++;
        space();
      } else if (text[i] === close) return void i++;
      else fail();
    }
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      return sequence('}', () => {
        if (text[i] !== '"') fail();
        string();
        space();
        if (text[i] !== ':') fail();
        i++;
        value();
      });
    }
    if (c === '[') return sequence(']', value);
    if (c === '"') return string();
    for (const word of ['true', 'false', 'null']) if (text.startsWith(word, i)) return void (i += word.length);
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) return void (i = NUMBER.lastIndex);
    fail();
  };
  try {
    value();
    space();
    if (i < text.length) fail();
    return text.length;
  } catch (error) {
    if (error instanceof SyntaxAt) return error.offset;
    throw error;
  }
}

class SyntaxAt {
  constructor(readonly offset: number) {}
}

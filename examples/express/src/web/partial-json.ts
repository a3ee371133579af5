/**
 * Reads the start of a JSON document, as a model streams it, into the value it has so far:
 * unfinished strings keep what arrived, unfinished objects and arrays keep their complete
 * members, a key without its value is left out. Never throws.
 */
export function parsePartialJson(text: string): unknown {
  return new Reader(text).value();
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };

class Reader {
  #i = 0;
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  value(): unknown {
    this.#space();
    const c = this.#text[this.#i];
    if (c === '{') return this.#object();
    if (c === '[') return this.#array();
    if (c === '"') return this.#string().value;
    return this.#literal();
  }

  #object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.#i++;
    for (;;) {
      this.#space();
      const c = this.#text[this.#i];
      if (c === '}') {
        this.#i++;
        return out;
      }
      if (c !== '"') return out;
      const key = this.#string();
      this.#space();
      if (!key.done || this.#text[this.#i] !== ':') return out;
      this.#i++;
      this.#space();
      if (this.#i >= this.#text.length) return out;
      const v = this.value();
      if (v !== undefined) out[key.value] = v;
      this.#space();
      if (this.#text[this.#i] !== ',') continue;
      this.#i++;
    }
  }

  #array(): unknown[] {
    const out: unknown[] = [];
    this.#i++;
    for (;;) {
      this.#space();
      const c = this.#text[this.#i];
      if (c === ']') {
        this.#i++;
        return out;
      }
      if (c === undefined) return out;
      const before = this.#i;
      const v = this.value();
      if (v !== undefined) out.push(v);
      this.#space();
      if (this.#text[this.#i] === ',') this.#i++;
      else if (this.#i === before) return out;
    }
  }

  #string(): { value: string; done: boolean } {
    let value = '';
    this.#i++;
    while (this.#i < this.#text.length) {
      const c = this.#text[this.#i] as string;
      if (c === '"') {
        this.#i++;
        return { value, done: true };
      }
      if (c !== '\\') {
        value += c;
        this.#i++;
        continue;
      }
      const e = this.#text[this.#i + 1];
      if (e === undefined) break;
      if (e === 'u') {
        const hex = this.#text.slice(this.#i + 2, this.#i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) break;
        value += String.fromCharCode(Number.parseInt(hex, 16));
        this.#i += 6;
      } else {
        value += ESCAPES[e] ?? e;
        this.#i += 2;
      }
    }
    this.#i = this.#text.length;
    return { value, done: false };
  }

  #literal(): unknown {
    const match = /^(?:true|false|null|-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)/.exec(this.#text.slice(this.#i));
    if (!match) {
      this.#i = this.#text.length;
      return undefined;
    }
    this.#i += match[0].length;
    if (match[0] === 'true') return true;
    if (match[0] === 'false') return false;
    if (match[0] === 'null') return null;
    return Number(match[0]);
  }

  #space(): void {
    while (this.#i < this.#text.length && ' \n\r\t'.includes(this.#text[this.#i] as string)) this.#i++;
  }
}

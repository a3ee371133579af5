/** Measuring and cutting text by its UTF-8 length, without encoding all of it. Internal to the hub. */

/**
 * UTF-8 length of `text` in bytes, without encoding it (a lone surrogate counts 3, as the
 * replacement character it is encoded as).
 */
export const utf8Length = (text: string): number => Buffer.byteLength(text);

/** Cuts `text` to at most `max` UTF-8 bytes (close reasons must stay under 123). */
export function truncateUtf8(text: string, max: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= max) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size > max) break;
    out += char;
    bytes += size;
  }
  return out;
}

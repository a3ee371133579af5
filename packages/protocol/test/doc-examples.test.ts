import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseClientFrame, parseServerFrame } from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';

/**
 * Every frame docs/protocol.md shows is one the protocol's parsers accept: the JSON examples under
 * "Client → server frames" and "Server → client frames", and each `C:` / `S:` line of the example
 * sessions (protocol 1 and protocol 2), read from the page itself.
 */

const PAGE = fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url));

interface Example {
  readonly side: 'client' | 'server';
  readonly line: number;
  readonly text: string;
}

function examples(markdown: string): Example[] {
  const found: Example[] = [];
  let section = '';
  let block: { start: number; lines: string[] } | undefined;
  markdown.split('\n').forEach((line, i) => {
    if (block) {
      if (line.startsWith('```')) {
        const side = section.startsWith('Client') ? 'client' : section.startsWith('Server') ? 'server' : undefined;
        if (side) found.push(...frames(side, block.start, block.lines));
        block = undefined;
      } else block.lines.push(line);
      return;
    }
    if (line.startsWith('## ')) section = line.slice(3);
    else if (line === '```json') block = { start: i + 1, lines: [] };
    else if (line.startsWith('C: ')) found.push({ side: 'client', line: i + 1, text: line.slice(3) });
    else if (line.startsWith('S: ')) found.push({ side: 'server', line: i + 1, text: line.slice(3) });
  });
  return found;
}

/** A JSON block: one frame (pretty-printed), or one frame per line. */
function frames(side: Example['side'], start: number, lines: string[]): Example[] {
  const text = lines.join('\n');
  try {
    JSON.parse(text);
    return [{ side, line: start, text }];
  } catch {
    return lines.flatMap((l, i) => (l.trim() === '' ? [] : [{ side, line: start + i, text: l }]));
  }
}

const all = examples(readFileSync(PAGE, 'utf8'));

describe('docs/protocol.md examples', () => {
  it('shows frames of both directions and both protocols', () => {
    const types = (side: Example['side']) =>
      new Set(all.filter((e) => e.side === side).map((e) => (JSON.parse(e.text) as { type: string }).type));
    expect([...types('client')]).toEqual(expect.arrayContaining(['auth', 'hello', 'subscribe', 'ack', 'ping']));
    expect([...types('server')]).toEqual(
      expect.arrayContaining(['welcome', 'authenticated', 'subscribed', 'ready', 'notification', 'error']),
    );
  });

  it.each(all.map((e) => [`${e.side} frame at line ${e.line}`, e] as const))('%s parses', (_name, e) => {
    const parsed = e.side === 'client' ? parseClientFrame(e.text) : parseServerFrame(e.text);
    expect(parsed.ok ? 'ok' : parsed.error.message).toBe('ok');
  });
});

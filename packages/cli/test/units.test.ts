import { describe, expect, it } from 'vitest';
import { formatLine, printable, summarize } from '../src/format.js';
import { displayUrl, httpEndpoint, originOf, webSocketUrl } from '../src/urls.js';

describe('URLs', () => {
  it('turns an http(s) base into the WebSocket endpoint, and keeps an explicit path', () => {
    expect(webSocketUrl('http://127.0.0.1:3000').href).toBe('ws://127.0.0.1:3000/v1/ws/notifications');
    expect(webSocketUrl('https://hub.example.org/').href).toBe('wss://hub.example.org/v1/ws/notifications');
    expect(webSocketUrl('wss://hub.example.org/custom/ws').href).toBe('wss://hub.example.org/custom/ws');
  });

  it('finds an HTTP endpoint from any form of the hub URL, keeping a basePath prefix', () => {
    const stats = (input: string) => httpEndpoint(input, '/v1/ws/stats').href;
    expect(stats('http://127.0.0.1:3000')).toBe('http://127.0.0.1:3000/v1/ws/stats');
    expect(stats('wss://hub.example.org/v1/ws/notifications')).toBe('https://hub.example.org/v1/ws/stats');
    expect(stats('https://hub.example.org/api/')).toBe('https://hub.example.org/api/v1/ws/stats');
    expect(stats('https://hub.example.org/api/v1/ws/stats?x=1')).toBe('https://hub.example.org/api/v1/ws/stats');
  });

  it('never shows credentials or a query, where a token could hide', () => {
    expect(displayUrl(new URL('wss://user:secret@hub.example.org/v1/ws/notifications?token=abc'))).toBe(
      'wss://hub.example.org/v1/ws/notifications',
    );
    expect(() => webSocketUrl('ftp://hub?token=abc')).toThrow(/"ftp:\/\/hub" is not a ws:/);
  });

  it('reduces --origin to an origin', () => {
    expect(originOf('https://portal.example.org/page?x=1')).toBe('https://portal.example.org');
    expect(originOf('null')).toBe('null');
    expect(() => originOf('portal')).toThrow(expect.objectContaining({ code: 'bad_url', exitCode: 3 }));
  });
});

describe('text output', () => {
  it('summarizes each built-in kind by its telling fields, ids first', () => {
    expect(
      summarize('appointment', { appointmentId: 'A-1', status: 'confirmed', startsAt: '2030-01-01T09:00:00Z' }),
    ).toBe('A-1 confirmed 2030-01-01T09:00:00Z');
    expect(summarize('lab_result', { labOrderId: 'L-1', status: 'final' })).toBe('L-1 final');
    expect(summarize('diagnosis_update', { assessmentId: 'as-1', status: 'preliminary', riskScore: 7 })).toBe(
      'as-1 preliminary risk 7',
    );
    expect(summarize('assessment_progress', { assessmentId: 'as-1', stage: 'synthesis', percent: 40 })).toBe(
      'as-1 synthesis 40%',
    );
    expect(summarize('system_alert', { severity: 'warning', message: 'Downtime at 2am' })).toBe(
      'warning Downtime at 2am',
    );
    expect(summarize('custom', { title: 'Hi' })).toBe('Hi');
  });

  it('falls back to compact JSON, says when there is no payload, and clips long text', () => {
    expect(summarize('acme.sepsis', { score: 3 })).toBe('{"score":3}');
    expect(summarize('lab_result', null)).toBe('(no payload)');
    const long = summarize('custom', { title: 'x'.repeat(500) });
    expect(long).toHaveLength(120);
    expect(long.endsWith('…')).toBe(true);
  });

  it('removes control characters, so a payload cannot move the cursor or clear the screen', () => {
    expect(printable('a\u001b[2Jb\r\nc\u0007')).toBe('a [2Jb c ');
  });

  it('marks a reduced PHI level in the line', () => {
    const line = formatLine({
      id: 'n1',
      topic: 'patient:p9',
      epoch: 'e',
      seq: 4,
      kind: 'lab_result',
      priority: 'urgent',
      createdAt: '2030-01-01T09:00:00.000Z',
      payload: null,
      ...{ phi: 'empty' },
    });
    expect(line).toMatch(
      /^\d\d:\d\d:00\.000 {2}patient:p9 {2}#4 {2}lab_result {2}urgent {2}\(no payload\) {2}\[phi: empty\]$/,
    );
  });
});

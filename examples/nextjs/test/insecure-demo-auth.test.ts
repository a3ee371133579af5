import { describe, expect, it } from 'vitest';
import {
  INSECURE_DEMO_TOKEN_PREFIX,
  insecureDemoAuthenticate,
  issueInsecureDemoToken,
} from '../src/wardcast/insecure-demo-auth';

const request = (authorization?: string) => ({ headers: authorization ? { authorization } : {}, url: '/' });

describe('the insecure demo sign-in', () => {
  it('writes the user id into the token in clear, behind a prefix that says it is insecure', () => {
    expect(issueInsecureDemoToken('dr-lee')).toBe(`${INSECURE_DEMO_TOKEN_PREFIX}dr-lee`);
    expect(INSECURE_DEMO_TOKEN_PREFIX).toMatch(/insecure/);
  });

  it('refuses user ids that would not make a clean user topic', () => {
    expect(() => issueInsecureDemoToken('a:b')).toThrow();
    expect(() => issueInsecureDemoToken('')).toThrow();
  });

  it('authenticates from the auth frame token or from a bearer header, and nothing else', () => {
    const token = issueInsecureDemoToken('nurse-ann');
    expect(insecureDemoAuthenticate({ token, request: request(), reauthenticate: false })).toEqual({
      userId: 'nurse-ann',
    });
    expect(insecureDemoAuthenticate({ request: request(`Bearer ${token}`), reauthenticate: false })).toEqual({
      userId: 'nurse-ann',
    });
    expect(insecureDemoAuthenticate({ request: request(), reauthenticate: false })).toBeNull();
    expect(insecureDemoAuthenticate({ token: 'nurse-ann', request: request(), reauthenticate: false })).toBeNull();
    expect(
      insecureDemoAuthenticate({
        token: `${INSECURE_DEMO_TOKEN_PREFIX}x y`,
        request: request(),
        reauthenticate: false,
      }),
    ).toBeNull();
  });
});

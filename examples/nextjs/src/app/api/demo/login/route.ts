import { withWardcast } from '../../../../wardcast/global';
import { isDemoUserId, issueInsecureDemoToken } from '../../../../wardcast/insecure-demo-auth';

// INSECURE demo sign-in: `{ user_id }` in, a token anyone could forge out (see
// src/wardcast/insecure-demo-auth.ts). A real app signs users in with its identity provider.
export const dynamic = 'force-dynamic';

export function POST(request: Request): Promise<Response> {
  return withWardcast(async (wardcast) => {
    const body: unknown = await request.json().catch(() => undefined);
    const userId = typeof body === 'object' && body !== null ? (body as { user_id?: unknown }).user_id : undefined;
    if (!isDemoUserId(userId)) {
      return Response.json(
        { success: false, error: { code: 'invalid_user_id', message: 'user_id must match [A-Za-z0-9_-]{1,64}' } },
        { status: 400 },
      );
    }
    return Response.json({
      success: true,
      data: { user_id: userId, token: issueInsecureDemoToken(userId), ws_path: wardcast.wsPath },
    });
  });
}

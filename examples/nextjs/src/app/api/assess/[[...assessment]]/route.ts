import { withWardcast } from '../../../../wardcast/global';

// POST /api/assess, GET /api/assess/:id, POST /api/assess/:id/review and /cancel, on the
// assessment pipeline's Fetch handler.
export const dynamic = 'force-dynamic';

const handler = (request: Request): Promise<Response> => withWardcast((wardcast) => wardcast.assessments(request));

export { handler as GET, handler as POST };

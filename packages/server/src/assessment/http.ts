import { ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { Principal } from '../core/types.js';
import { requireAllowedOrigin, requirePrincipal } from '../http/auth.js';
import { jsonBody } from '../http/body.js';
import type { HttpCore } from '../http/core.js';
import { dispatch } from '../http/dispatch.js';
import { failure, HttpError, internalError, ok, resultOf } from '../http/errors.js';
import type { HttpRequestLike, HttpResult } from '../http/types.js';
import { assessmentJson, snakeMessage, submitInputOf } from './http-json.js';
import { AssessmentBusyError, type AssessmentPipeline, type AssessmentView, type ReviewInput } from './model.js';
import { parseSubmit } from './schemas.js';

/** What a caller wants to do with an assessment. *
 * @example
 * ```ts
 * const reviewOnly = (action: AssessmentAction) => action === 'review';
 * ```
 *
 * @category HTTP endpoints
 */
export type AssessmentAction = 'submit' | 'read' | 'review' | 'cancel';

/**
 * Decides whether `principal` may do `action` on an assessment of `patientId` (`assessment` is
 * absent for `submit`). Only `true` allows it; a throw denies. May be async.
 *
 * @example
 * ```ts
 * const authorize: AuthorizeAssessment = (principal, action, { patientId }) =>
 *   principal.claims?.role === 'clinician' && careTeamOf(patientId).includes(principal.userId);
 * ```
 *
 * @category HTTP endpoints
 */
export type AuthorizeAssessment = (
  principal: Principal,
  action: AssessmentAction,
  target: { readonly patientId: string; readonly assessment?: AssessmentView },
) => boolean | Promise<boolean>;

/** Options of the assessment endpoints ({@link createAssessmentHttpCore} and its adapters). *
 * @example
 * ```ts
 * const options: AssessmentHttpOptions = {
 *   authenticate: (req) => sessions.verify(req.headers.cookie),
 *   authorize: (principal, action) => action !== 'review' || principal.claims?.role === 'physician',
 * };
 * ```
 *
 * @category HTTP endpoints
 */
export interface AssessmentHttpOptions {
  /** Path of the collection; the endpoints are `POST <path>`, `GET <path>/:id`, `POST <path>/:id/review|cancel`. @default '/api/assess' */
  readonly path?: string;
  /**
   * Who the caller is; return `null`/`undefined` for a 401.
   * @default the hub's `authenticate`, with a `Authorization: Bearer` token as `token`
   */
  readonly authenticate?: (
    request: HttpRequestLike,
  ) => Principal | null | undefined | Promise<Principal | null | undefined>;
  /**
   * What the caller may do (403 otherwise).
   * @default any authenticated caller may submit; only the requester may read or cancel; nobody may review
   */
  readonly authorize?: AuthorizeAssessment;
  /** Largest request body, in bytes (413 past it). @default 65_536 */
  readonly maxBodyBytes?: number;
  /** Where unexpected failures (500) and throwing `authorize` callbacks are logged. @default no logging */
  readonly logger?: Logger;
}

const defaultAuthorize: AuthorizeAssessment = (principal, action, { assessment }) =>
  action === 'submit' || (action !== 'review' && assessment?.requestedBy === principal.userId);

type Route = () => Promise<HttpResult>;
const ITEM_PATH = /^\/([^/]+)(?:\/(review|cancel))?$/;

function header(req: HttpRequestLike, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : value?.[0];
}

/** The result for a pipeline error: 400, 404, 409, 429 with `Retry-After`, or the shared mapping. */
function assessmentResultOf(err: unknown): HttpResult | undefined {
  if (err instanceof AssessmentBusyError) {
    return failure(429, err.code, err.message, { 'retry-after': String(err.retryAfterSeconds) });
  }
  if (isWardcastError(err)) {
    if (err.code === ErrorCode.InvalidRequest || err.code === ErrorCode.InvalidVitals) {
      return failure(400, err.code, snakeMessage(err.message));
    }
    if (err.code === ErrorCode.NotFound) return failure(404, err.code, 'no such assessment');
    if (err.code === ErrorCode.InvalidState) return failure(409, err.code, err.message);
  }
  return resultOf(err);
}

/**
 * Builds the framework-neutral core of the assessment endpoints (the same {@link HttpCore} shape
 * as `createHttpCore`, reusing its body limits, JSON envelope and CSRF origin check):
 *
 * - `POST /api/assess` `{ patient_id, intake, vitals, idempotency_key? }` (or an `Idempotency-Key`
 *   header) → 202 `{ success: true, data: { assessment_id, status, duplicate } }` and `Location`;
 *   400 `invalid_request`/`invalid_vitals`; 429 `busy` with `Retry-After`.
 * - `GET /api/assess/:id` → 200 with the assessment (snake_case); 404 `not_found`.
 * - `POST /api/assess/:id/review` `{ decision: 'final' | 'retracted', summary? }` → 200; the
 *   caller is `reviewedBy`; 409 `invalid_state`.
 * - `POST /api/assess/:id/cancel` → 200 `{ assessment_id, cancelled, status }`.
 *
 * Every endpoint answers 401 without credentials and 403 when `authorize` refuses.
 *
 * @throws {WardcastError} `invalid_option` for a `path` not starting with `/` or a bad `maxBodyBytes`.
 *
 * @example
 * ```ts
 * const core = createAssessmentHttpCore(pipeline, { authorize: (p, action) => p.claims?.role === 'clinician' });
 * const result = await core.handle({ method: 'GET', url: `/api/assess/${id}`, headers: { authorization } });
 * ```
 *
 * @category HTTP endpoints
 */
export function createAssessmentHttpCore(pipeline: AssessmentPipeline, options: AssessmentHttpOptions = {}): HttpCore {
  const path = (options.path ?? '/api/assess').replace(/\/+$/, '');
  if (!path.startsWith('/')) throw new WardcastError(ErrorCode.InvalidOption, "path must start with '/'");
  const maxBodyBytes = options.maxBodyBytes ?? 65_536;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new WardcastError(ErrorCode.InvalidOption, 'maxBodyBytes must be an integer >= 1');
  }
  const logger = options.logger ?? silentLogger;
  const authorize = options.authorize ?? defaultAuthorize;
  const hub = pipeline.hub;

  const principalOf = async (req: HttpRequestLike): Promise<Principal> => {
    if (!options.authenticate) return requirePrincipal(hub, req);
    const principal = await options.authenticate(req);
    if (!principal || typeof principal.userId !== 'string' || principal.userId === '') {
      throw new HttpError(401, ErrorCode.Unauthorized, 'authentication required', { 'www-authenticate': 'Bearer' });
    }
    return principal;
  };

  const check = async (principal: Principal, action: AssessmentAction, target: Parameters<AuthorizeAssessment>[2]) => {
    let allowed = false;
    try {
      allowed = (await authorize(principal, action, target)) === true;
    } catch (err) {
      logger.warn({ err, action }, 'wardcast: assessment authorize threw; denying');
    }
    if (!allowed) throw new HttpError(403, ErrorCode.Forbidden, `not allowed to ${action} this assessment`);
  };

  /** Authenticates, finds the assessment (404) and authorizes `action` on it (403). */
  const load = async (req: HttpRequestLike, id: string, action: AssessmentAction) => {
    if (action !== 'read') requireAllowedOrigin(hub, req);
    const principal = await principalOf(req);
    const assessment = pipeline.get(id);
    if (!assessment) throw new HttpError(404, ErrorCode.NotFound, 'no such assessment');
    await check(principal, action, { patientId: assessment.patientId, assessment });
    return { principal, assessment };
  };

  const submit = async (req: HttpRequestLike): Promise<HttpResult> => {
    requireAllowedOrigin(hub, req);
    const principal = await principalOf(req);
    const body = await jsonBody(req, maxBodyBytes);
    const input = parseSubmit(submitInputOf(body, principal.userId, header(req, 'idempotency-key')));
    await check(principal, 'submit', { patientId: input.patientId });
    const { assessmentId, duplicate } = pipeline.submit(input);
    const status = pipeline.get(assessmentId)?.status ?? 'queued';
    const result = ok({ assessment_id: assessmentId, status, duplicate });
    const location = `${path}/${encodeURIComponent(assessmentId)}`;
    return { ...result, status: 202, headers: { ...result.headers, location } };
  };

  const item = (req: HttpRequestLike, id: string, action: string | undefined): Record<string, Route> => {
    if (action === 'review') {
      return {
        POST: async () => {
          const { principal } = await load(req, id, 'review');
          const body = await jsonBody(req, maxBodyBytes);
          const { decision, summary } = (typeof body === 'object' && body !== null ? body : {}) as Record<
            string,
            unknown
          >;
          // review() validates decision and summary (400 invalid_request).
          const input = { reviewedBy: principal.userId, decision, summary } as unknown as ReviewInput;
          const view = await pipeline.review(id, input);
          return ok(assessmentJson(view));
        },
      };
    }
    if (action === 'cancel') {
      return {
        POST: async () => {
          await load(req, id, 'cancel');
          return ok({ assessment_id: id, ...pipeline.cancel(id) });
        },
      };
    }
    return { GET: async () => ok(assessmentJson((await load(req, id, 'read')).assessment)) };
  };
  const routesOf = (req: HttpRequestLike, pathname: string): Record<string, Route> | undefined => {
    if (pathname === path) return { POST: () => submit(req) };
    if (!pathname.startsWith(`${path}/`)) return undefined;
    const match = ITEM_PATH.exec(pathname.slice(path.length));
    if (!match) return undefined;
    let id: string;
    try {
      id = decodeURIComponent(match[1] ?? '');
    } catch {
      return undefined;
    }
    return item(req, id, match[2]);
  };

  return {
    async handle(request) {
      let pathname: string;
      try {
        pathname = new URL(request.url, 'http://localhost').pathname;
      } catch {
        return undefined;
      }
      const routes = routesOf(request, pathname);
      if (!routes) return undefined;
      // Logged as the route, not the path: the assessment id in the path is request data.
      const route = pathname === path ? path : `${path}/:id${/\/(review|cancel)$/.exec(pathname)?.[0] ?? ''}`;
      return dispatch(routes, request.method, (err, method) => {
        const result = assessmentResultOf(err);
        if (result) return result;
        logger.error({ err, method, route }, 'wardcast: assessment endpoint failed');
        return internalError();
      });
    },
  };
}

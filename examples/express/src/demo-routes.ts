import type { EscalationStore, NotificationHub } from '@wardcast/server';
import { WardcastError } from '@wardcast/server';
import express, { type Router } from 'express';
import { fail, signedIn } from './auth.js';
import { escalationChain, findUser, isClinician, isPatientRecord, PATIENTS, USERS } from './directory.js';
import type { createTokenIssuer } from './tokens.js';

/** What the demo routes need from the app. */
export interface DemoRouteDeps {
  readonly hub: NotificationHub;
  readonly tokens: ReturnType<typeof createTokenIssuer>;
  readonly escalations: EscalationStore;
  /** How long each clinician of an escalation chain has to acknowledge, ms. */
  readonly escalationStepMs: number;
}

type Scenario = 'lab_result' | 'critical_lab' | 'appointment' | 'message';
const SCENARIOS: readonly Scenario[] = ['lab_result', 'critical_lab', 'appointment', 'message'];

/**
 * The demo's own endpoints: sign-in as a listed user, the directory, a "simulate" button that
 * publishes realistic notifications through the hub, escalation status for the countdown, and a
 * notification to a patient record.
 */
export function createDemoRouter(deps: DemoRouteDeps): Router {
  const { hub, tokens, escalations } = deps;
  const router = express.Router();
  const json = express.json({ limit: '16kb' });
  let counter = 0;

  router.get('/api/demo/directory', (_req, res) => {
    res.json({ success: true, data: { users: USERS, patients: PATIENTS } });
  });

  router.post('/api/demo/login', json, (req, res) => {
    const userId = (req.body as { userId?: unknown } | undefined)?.userId;
    const user = typeof userId === 'string' ? findUser(userId) : undefined;
    if (!user) {
      fail(res, 400, 'unknown_user', 'sign in as one of the demo users');
      return;
    }
    res.json({ success: true, data: { ...tokens.issue(user.id), user } });
  });

  router.post('/api/demo/simulate', json, async (req, res) => {
    const principal = await signedIn(hub, req, res);
    if (!principal) return;
    const scenario = (req.body as { scenario?: unknown } | undefined)?.scenario;
    if (!SCENARIOS.includes(scenario as Scenario)) {
      fail(res, 400, 'bad_request', `scenario must be one of ${SCENARIOS.join(', ')}`);
      return;
    }
    if (scenario === 'critical_lab' && !isClinician(principal.userId)) {
      fail(res, 403, 'forbidden', 'critical results go to clinicians');
      return;
    }
    const n = ++counter;
    try {
      const result = await simulate(hub, principal.userId, scenario as Scenario, n, deps.escalationStepMs);
      res.json({ success: true, data: result });
    } catch (err) {
      sendError(res, err);
    }
  });

  router.get('/api/demo/escalations/:id', async (req, res) => {
    const principal = await signedIn(hub, req, res);
    if (!principal) return;
    // Re-sent steps carry `<id>~<step>`; the escalation is keyed by the original id.
    const id = String(req.params.id).replace(/~\d+$/, '');
    const record = await escalations.load(id);
    const involved =
      record &&
      (record.topic === `user:${principal.userId}` || record.chain.some((s) => s.userId === principal.userId));
    if (!record || !involved) {
      fail(res, 404, 'not_found', 'no such escalation');
      return;
    }
    res.json({
      success: true,
      data: {
        id: record.id,
        status: record.status,
        step: record.step,
        deadline: new Date(record.deadline).toISOString(),
        current_user: record.chain[record.step]?.userId ?? null,
        next_user: record.chain[record.step + 1]?.userId ?? null,
        acknowledged_by: record.acknowledgedBy ?? null,
      },
    });
  });

  // A note on a patient record, seen by everyone viewing it. Requests without `patient_id` go on
  // to the SDK's own test endpoint (which targets user topics only).
  router.post('/v1/ws/test-notification', json, async (req, res, next) => {
    const body = (req.body ?? {}) as { patient_id?: unknown; title?: unknown; message?: unknown; priority?: unknown };
    if (typeof body.patient_id !== 'string' || body.patient_id === '') {
      next();
      return;
    }
    const principal = await signedIn(hub, req, res);
    if (!principal) return;
    if (!isClinician(principal.userId) || !isPatientRecord(body.patient_id)) {
      fail(res, 403, 'forbidden', 'clinicians only, on a listed patient record');
      return;
    }
    const topic = `patient:${body.patient_id}`;
    try {
      const result = await hub.publish(topic, {
        kind: 'custom',
        priority: body.priority === 'urgent' || body.priority === 'critical' ? body.priority : 'routine',
        payload: {
          title: String(body.title ?? 'Ward note').slice(0, 200),
          message: String(body.message ?? '').slice(0, 2000),
        },
      });
      res.json({ success: true, data: { topic, ...result } });
    } catch (err) {
      sendError(res, err);
    }
  });

  return router;
}

async function simulate(hub: NotificationHub, userId: string, scenario: Scenario, n: number, stepMs: number) {
  const now = new Date().toISOString();
  const patient = PATIENTS[n % PATIENTS.length] ?? PATIENTS[0];
  switch (scenario) {
    case 'critical_lab':
      return hub.notify.labResult(
        userId,
        {
          labOrderId: `L-${7700 + n}`,
          testName: `Potassium (${patient?.name ?? 'patient'})`,
          status: 'final',
          abnormal: true,
          critical: true,
          resultAt: now,
          value: '6.4',
          unit: 'mmol/L',
          referenceRange: '3.5-5.3',
        },
        { id: `demo-critical-${Date.now()}-${n}`, escalation: { chain: escalationChain(userId, stepMs) } },
      );
    case 'lab_result':
      return hub.notify.labResult(userId, {
        labOrderId: `L-${7700 + n}`,
        testName: `C-reactive protein (${patient?.name ?? 'patient'})`,
        status: 'final',
        abnormal: true,
        critical: false,
        resultAt: now,
        value: '86',
        unit: 'mg/L',
        referenceRange: '<5',
      });
    case 'appointment':
      return hub.notify.appointment(userId, {
        appointmentId: `A-${300 + n}`,
        status: 'reminder',
        startsAt: new Date(Date.now() + 86_400_000).toISOString(),
        location: 'Outpatients, clinic 3',
        message: 'Please bring a list of your current medicines.',
      });
    case 'message':
      return hub.publish(`user:${userId}`, {
        kind: 'custom',
        priority: 'urgent',
        payload: {
          title: 'Bed manager',
          message: `Bed request for ${patient?.name ?? 'a patient'} approved on Ward 7.`,
        },
      });
  }
}

function sendError(res: express.Response, err: unknown): void {
  const code = err instanceof WardcastError ? err.code : 'internal_error';
  fail(res, code === 'internal_error' ? 500 : 400, code, err instanceof Error ? err.message : 'failed');
}

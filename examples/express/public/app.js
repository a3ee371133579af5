// Demo page: a small hand-written client so the demo runs before @wardcast/client exists.
// It authenticates in the first frame, subscribes with resume points, and reconnects with backoff.
const $ = (id) => document.getElementById(id);
const state = { token: null, userId: null, topics: [], positions: {}, seen: new Set(), ws: null, attempt: 0, count: 0 };

function setStatus(s) {
  $('status').textContent = s;
  $('status').className = s;
}

function render(n) {
  $('empty')?.remove();
  const li = document.createElement('li');
  li.className = n.priority;
  li.dataset.id = n.id;
  const title = document.createElement('strong');
  title.textContent = n.payload?.title ?? (n.kind === 'diagnosis_update' ? `Diagnosis: ${n.payload.status}` : n.kind);
  const body = document.createElement('div');
  body.textContent = n.payload?.message ?? n.payload?.summary ?? JSON.stringify(n.payload);
  const meta = document.createElement('div');
  meta.className = 'meta';
  meta.textContent = `${n.topic} · seq ${n.seq} · ${n.priority} · ${new Date(n.createdAt).toLocaleTimeString()}`;
  li.append(title, body, meta);
  $('list').prepend(li);
  $('count').textContent = `(${++state.count})`;
}

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws/notifications`);
  state.ws = ws;
  setStatus(state.attempt ? 'reconnecting' : 'connecting');
  ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: state.token }));
  ws.onmessage = (event) => {
    const f = JSON.parse(event.data);
    if (f.type === 'authenticated') {
      state.attempt = 0;
      setStatus('open');
      const topics = state.topics.map((topic) =>
        state.positions[topic] ? { topic, since: state.positions[topic] } : { topic },
      );
      ws.send(JSON.stringify({ type: 'subscribe', topics }));
    } else if (f.type === 'notification') {
      state.positions[f.topic] = { epoch: f.epoch, seq: f.seq };
      if (!state.seen.has(f.id)) {
        state.seen.add(f.id);
        if (f.kind === 'assessment_progress' || f.kind === 'diagnosis_update') showAssessment(f);
        // Progress frames only update the panel; results and failures also go to the list.
        if (f.kind !== 'assessment_progress' || ['failed', 'cancelled'].includes(f.payload?.stage)) render(f);
      }
    } else if (f.type === 'subscribed') {
      for (const t of f.topics) if (t.position) state.positions[t.topic] = t.position;
    }
  };
  ws.onclose = (event) => {
    if (state.ws !== ws) return;
    if ([4400, 4401, 4403, 4410, 4430].includes(event.code)) return setStatus(`closed (${event.code})`);
    setStatus('reconnecting');
    const delay = Math.random() * Math.min(10_000, 500 * 2 ** state.attempt++);
    setTimeout(connect, delay);
  };
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const userId = $('userId').value.trim();
  const res = await fetch('/api/demo/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  const body = await res.json();
  if (!body.success) return alert(body.error.message);
  Object.assign(state, { token: body.data.token, userId, positions: {}, attempt: 0 });
  state.topics = [`user:${userId}`, 'broadcast'];
  if ($('patient').value.trim()) state.topics.push(`patient:${$('patient').value.trim()}`);
  $('who').textContent = `signed in as ${userId}`;
  const old = state.ws;
  state.ws = null;
  old?.close();
  connect();
});

$('send').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!state.token) return alert('Sign in first');
  const to = $('to').value;
  const body = { title: $('title').value, message: $('message').value, priority: $('priority').value };
  if (to === 'patient') body.patient_id = $('patient').value.trim();
  else body.user_id = state.userId;
  const res = await fetch('/v1/ws/test-notification', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${state.token}` },
    body: JSON.stringify(body),
  });
  const out = await res.json();
  $('sendResult').textContent = out.success
    ? `published to ${out.data.topic} as seq ${out.data.seq}`
    : `error: ${out.error.code}`;
});

setInterval(async () => {
  const res = await fetch('/v1/ws/stats');
  const { data } = await res.json();
  $('stats').textContent =
    `hub: ${data.connected_clients} connected, ${data.users} users, ${data.deliveries} deliveries`;
}, 2000);

// Assessment: POST /api/assess answers 202 at once; progress and the diagnosis arrive on patient:<id>.
function showAssessment(n) {
  const p = n.payload ?? {};
  if (!p.assessmentId) return;
  if (p.assessmentId !== state.assessmentId) {
    state.assessmentId = p.assessmentId;
    $('dxText').textContent = '';
    $('dxResult').textContent = '';
    $('dxRisk').textContent = '';
    $('dxReview').textContent = '';
  }
  $('diagnosis').hidden = false;
  const stage = n.kind === 'diagnosis_update' ? p.status : p.stage;
  $('dxStage').textContent = stage + (p.reason ? ` (${p.reason})` : '');
  $('dxStage').className = stage;
  if (p.percent !== undefined) $('dxProgress').value = p.percent;
  if (p.partialText !== undefined) $('dxText').textContent = p.partialText;
  if (n.kind === 'diagnosis_update') {
    $('dxProgress').value = 100;
    $('dxRisk').textContent =
      `NEWS2 ${p.riskScore} · ${p.model.name} ${p.model.version}${p.reviewedBy ? ` · reviewed by ${p.reviewedBy}` : ''}`;
    const list = document.createElement('ul');
    for (const d of p.differential) {
      const li = document.createElement('li');
      li.textContent = `${d.condition}: ${Math.round(d.likelihood * 100)}%`;
      list.append(li);
    }
    const summary = document.createElement('p');
    summary.textContent = p.summary;
    $('dxResult').replaceChildren(summary, list);
    $('dxText').textContent = '';
  }
  $('dxActions').hidden = !(stage === 'preliminary' || stage === 'final');
  $('dxFinal').hidden = stage !== 'preliminary';
}

$('assess').addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!state.token) return alert('Sign in first');
  const patientId = $('patient').value.trim();
  if (!patientId) return alert('Enter a patient to watch (step 1)');
  const num = (id) => Number($(id).value);
  const body = {
    patient_id: patientId,
    intake: { chief_complaint: $('complaint').value, ...($('age').value ? { age: num('age') } : {}) },
    vitals: {
      respiration_rate: num('rr'),
      spo2: num('spo2'),
      on_oxygen: $('oxygen').checked,
      systolic_bp: num('sbp'),
      pulse: num('pulse'),
      consciousness: $('acvpu').value,
      temperature: num('temp'),
    },
  };
  const res = await fetch('/api/assess', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${state.token}` },
    body: JSON.stringify(body),
  });
  const out = await res.json();
  $('assessResult').textContent = out.success
    ? `accepted (${res.status}): ${out.data.assessment_id}`
    : `error ${res.status}: ${out.error.code}: ${out.error.message}`;
});

async function review(decision) {
  const res = await fetch(`/api/assess/${encodeURIComponent(state.assessmentId)}/review`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${state.token}` },
    body: JSON.stringify({ decision }),
  });
  const out = await res.json();
  $('dxReview').textContent = out.success ? `${decision} by ${out.data.reviewed_by}` : `error: ${out.error.code}`;
}
$('dxFinal').addEventListener('click', () => review('final'));
$('dxRetract').addEventListener('click', () => review('retracted'));

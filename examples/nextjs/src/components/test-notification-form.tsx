'use client';

import { type FormEvent, useState } from 'react';

type Priority = 'routine' | 'urgent' | 'critical';

/** "Send test notification": POST /api/v1/ws/test-notification, published to your own `user:` topic. */
export function TestNotificationForm({ userId, token }: { userId: string; token: string }) {
  const [title, setTitle] = useState('Potassium 6.1 mmol/L');
  const [message, setMessage] = useState('Bed 4B · repeat sample requested');
  const [priority, setPriority] = useState<Priority>('urgent');
  const [result, setResult] = useState<string>();

  const send = async (event: FormEvent) => {
    event.preventDefault();
    setResult('sending…');
    try {
      const res = await fetch('/api/v1/ws/test-notification', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ user_id: userId, title, message, priority }),
      });
      const body = (await res.json()) as
        | { success: true; data: { topic: string; seq: number } }
        | { success: false; error: { code: string; message: string } };
      setResult(
        body.success
          ? `sent to ${body.data.topic} · seq ${body.data.seq}`
          : `${body.error.code}: ${body.error.message}`,
      );
    } catch (err) {
      setResult(`failed: ${(err as Error).message}`);
    }
  };

  return (
    <form className="card send" onSubmit={send} aria-label="Send test notification">
      <h2>Send a test notification</h2>
      <label htmlFor="title">Title</label>
      <input id="title" value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} required />
      <label htmlFor="message">Message</label>
      <input id="message" value={message} onChange={(e) => setMessage(e.target.value)} maxLength={2000} />
      <label htmlFor="priority">Priority</label>
      <select id="priority" value={priority} onChange={(e) => setPriority(e.target.value as Priority)}>
        <option value="routine">routine</option>
        <option value="urgent">urgent</option>
        <option value="critical">critical</option>
      </select>
      <button type="submit">Send test notification</button>
      {result && (
        <p className="result" data-testid="send-result" aria-live="polite">
          {result}
        </p>
      )}
    </form>
  );
}

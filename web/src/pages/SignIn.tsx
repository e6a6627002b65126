import { FormEvent, useState } from 'react';
import { api, Session } from '../api';
import { ErrorPanel } from '../ErrorPanel';

/** Exchanges an API key for a session cookie. The key stays in this form's state and is dropped once sent. */
export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api<Session>('POST', '/api/v1/session', { api_key: key.trim() });
      setKey('');
      onSignedIn(session);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <h1>Churn control plane</h1>
      <form onSubmit={(e) => void submit(e)} className="card">
        <h2>Sign in</h2>
        <p>Paste an API key. It is exchanged for a session and not kept by the browser.</p>
        <label htmlFor="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} required />
        <button type="submit" disabled={busy || key.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error !== null && <ErrorPanel error={error} />}
      </form>
    </main>
  );
}

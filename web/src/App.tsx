import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { api, ApiError, may, Role, Session, setCsrfToken } from './api';
import { ErrorPanel } from './ErrorPanel';
import { SignIn } from './pages/SignIn';

// Pages load on first use: the sign-in page does not download the charting library.
const Models = lazy(() => import('./pages/Models').then((m) => ({ default: m.Models })));

interface PageDef {
  path: string;
  title: string;
  roles: readonly Role[];
}

/** The console's pages; a page the role may not use is not offered (the server refuses it anyway). */
const PAGES: readonly PageDef[] = [{ path: 'models', title: 'Models and versions', roles: ['operator', 'approver'] }];

type SessionState = { kind: 'loading' } | { kind: 'signed-out' } | { kind: 'failed'; error: unknown } | { kind: 'signed-in'; session: Session };

function currentPage(): string {
  return window.location.pathname.replace(/^\/console\/?/, '').split('/')[0] || 'models';
}

export function App() {
  const [state, setState] = useState<SessionState>({ kind: 'loading' });
  const [page, setPage] = useState(currentPage());

  const load = useCallback(async () => {
    setState({ kind: 'loading' });
    try {
      const session = await api<Session>('GET', '/api/v1/session');
      setCsrfToken(session.csrf_token);
      setState({ kind: 'signed-in', session });
    } catch (err) {
      setCsrfToken(null);
      setState(err instanceof ApiError && err.status === 401 ? { kind: 'signed-out' } : { kind: 'failed', error: err });
    }
  }, []);

  useEffect(() => {
    void load();
    const onPop = () => setPage(currentPage());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, [load]);

  function navigate(to: string) {
    window.history.pushState(null, '', `/console/${to}`);
    setPage(to);
  }

  async function signOut() {
    try {
      await api<void>('DELETE', '/api/v1/session');
    } finally {
      setCsrfToken(null);
      setState({ kind: 'signed-out' });
    }
  }

  if (state.kind === 'loading') {
    return (
      <main className="centered" aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  }
  if (state.kind === 'failed') {
    return (
      <main className="centered">
        <h1>Churn control plane</h1>
        <ErrorPanel error={state.error} onRetry={() => void load()} />
      </main>
    );
  }
  if (state.kind === 'signed-out') {
    return (
      <SignIn
        onSignedIn={(session) => {
          setCsrfToken(session.csrf_token);
          setState({ kind: 'signed-in', session });
        }}
      />
    );
  }

  const { session } = state;
  const allowed = PAGES.filter((p) => may(session.role, p.roles));
  const active = allowed.find((p) => p.path === page);
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Churn control plane</span>
        <nav aria-label="Main">
          <ul>
            {allowed.map((p) => (
              <li key={p.path}>
                <a
                  href={`/console/${p.path}`}
                  aria-current={p.path === page ? 'page' : undefined}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(p.path);
                  }}
                >
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who" data-testid="who">
          {session.key_id} · <strong data-testid="role">{session.role}</strong>
          {session.model_name && ` · ${session.model_name}`}
        </span>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <main className="content">
        <Suspense fallback={<p aria-busy="true">Loading page…</p>}>{active?.path === 'models' && <Models session={session} />}</Suspense>
        {!active && (
          <section className="card">
            <h1>Nothing to show for your role</h1>
            <p>
              Your key has the role <strong>{session.role}</strong>
              {allowed.length === 0
                ? ', which may only score customers (POST /predict). Ask an admin for an operator or approver key to use the console.'
                : '. Pick a page above.'}
            </p>
          </section>
        )}
      </main>
    </div>
  );
}

import { ApiError } from './api';

/** A failure as the operator should see it: what the server said, and what to do next. */
export function ErrorPanel({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const detail = error instanceof ApiError ? error.detail : String(error);
  const next = error instanceof ApiError ? error.nextStep : 'Reload the page and try again.';
  return (
    <div role="alert" className="error-panel">
      <p className="error-detail">{detail}</p>
      <p className="error-next">{next}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** The problem+json body the service sends with every error (RFC 9457). */
export interface Problem {
  type: string;
  title: string;
  status?: number;
  detail: string;
  code: string;
  instance?: string;
  request_id?: string;
  errors?: { field: string; message: string }[];
}

/** A failure the CLI can explain: a stable code, the exit code, and what to do next. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** A mistake in how the CLI was called: printed with the usage text, exit code 2. */
export class CliUsageError extends CliError {
  constructor(message: string) {
    super(message, 'CLI_USAGE', 2);
  }
}

/** The service answered with an error; keeps its problem+json body. Exit code 1. */
export class ApiError extends CliError {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly problem: Problem,
  ) {
    super(`${method} ${url} → ${problem.status ?? '?'}: ${problem.detail}`, problem.code, 1, nextStep(problem));
  }
}

function nextStep(p: Problem): string | undefined {
  switch (p.status) {
    case 400:
      return 'Fix the arguments named in the detail and run the command again.';
    case 401:
      return 'Set CLI_API_KEY to a valid API key (an admin creates one with `npm run cli -- keys create --role <role>`).';
    case 403: {
      if (/four-eyes/i.test(p.detail))
        return 'Another approver must decide this request: give them its id; they run `npm run cli -- approve <id> --reason "..."`.';
      const roles = /needs one of: ([a-z, ]+)/.exec(p.detail)?.[1];
      if (roles) {
        const role = roles.split(', ').find((r) => r !== 'admin') ?? 'admin';
        return `Set CLI_API_KEY to a key with role ${role} (an admin creates one with \`npm run cli -- keys create --role ${role}\`).`;
      }
      return 'Use a key allowed for this model (a key without a model limit, or one limited to this model).';
    }
    case 404:
      return 'Check the name or id: `npm run cli -- models` lists the models, `models <name>` their versions, `promotions` the promotion requests.';
    case 409:
      return 'See the current state with `npm run cli -- promotions --model <name>` or `models <name>`.';
    case 429:
      return 'The key is over its rate limit: wait a minute and retry.';
    case 503:
      return 'A dependency (MLflow or the database) is unavailable: retry shortly; GET /health/ready says which.';
    default:
      return undefined;
  }
}

/** The error as one JSON document: the service's problem+json when there is one, else the same shape. */
export function errorDocument(err: unknown): Record<string, unknown> {
  if (err instanceof ApiError) return { ...err.problem, hint: err.hint ?? null, exit_code: err.exitCode };
  if (err instanceof CliError)
    return {
      type: 'about:blank',
      title: err instanceof CliUsageError ? 'Usage error' : 'CLI error',
      detail: err.message,
      code: err.code,
      hint: err.hint ?? null,
      exit_code: err.exitCode,
    };
  return { type: 'about:blank', title: 'CLI error', detail: err instanceof Error ? err.message : String(err), code: 'CLI_FAILED', hint: null, exit_code: 1 };
}

/** The error for a person: on stderr, with what to do next. */
export function errorText(err: unknown, usage: string): string {
  if (err instanceof CliUsageError) return `${err.message}\n\n${usage}\n`;
  const message = `error: ${err instanceof Error ? err.message : String(err)}\n`;
  return err instanceof CliError && err.hint ? `${message}next: ${err.hint}\n` : message;
}

import { ApiError, CliError, CliUsageError, errorDocument, errorText } from './errors';

const problem = (status: number, detail: string) => ({ type: 'about:blank', title: 't', status, detail, code: 'FORBIDDEN', instance: '/x' });

describe('CLI errors', () => {
  it('names the role a 403 needs and how to get a key for it', () => {
    const err = new ApiError(
      'POST',
      '/api/v1/models/m/promotions/1/approve',
      problem(403, "API key abc has role 'operator'; this endpoint needs one of: admin, approver."),
    );
    expect(err.hint).toBe('Set CLI_API_KEY to a key with role approver (an admin creates one with `npm run cli -- keys create --role approver`).');
    expect(err.exitCode).toBe(1);
  });

  it('tells the requester of a promotion that another approver must decide', () => {
    const err = new ApiError('POST', '/x', problem(403, 'Four-eyes rule: key abc requested this promotion and cannot approve it; another approver must.'));
    expect(err.hint).toMatch(/^Another approver must decide this request/);
  });

  it('keeps the service problem+json under --json and adds the hint and exit code', () => {
    const doc = errorDocument(new ApiError('GET', '/api/v1/models', problem(401, 'The API key is unknown, revoked or expired.')));
    expect(doc).toMatchObject({ status: 401, code: 'FORBIDDEN', instance: '/x', hint: expect.stringContaining('CLI_API_KEY'), exit_code: 1 });
  });

  it('gives CLI-side failures the same shape', () => {
    expect(errorDocument(new CliUsageError('promote needs --stage'))).toEqual({
      type: 'about:blank',
      title: 'Usage error',
      detail: 'promote needs --stage',
      code: 'CLI_USAGE',
      hint: null,
      exit_code: 2,
    });
    expect(errorDocument(new Error('boom'))).toMatchObject({ code: 'CLI_FAILED', exit_code: 1 });
  });

  it('prints the usage after a usage mistake and a next step after other errors', () => {
    expect(errorText(new CliUsageError('bad'), 'USAGE')).toBe('bad\n\nUSAGE\n');
    expect(errorText(new CliError('no API key', 'NO_API_KEY', 2, 'Set CLI_API_KEY.'), 'USAGE')).toBe('error: no API key\nnext: Set CLI_API_KEY.\n');
  });
});

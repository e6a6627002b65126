import { RouteMethods } from './method-not-allowed';

describe('RouteMethods', () => {
  const routes = new RouteMethods();
  routes.add('/api/v1/training/runs', ['GET', 'HEAD']);
  routes.add('/api/v1/training/runs', 'POST');
  routes.add('/api/v1/training/runs/:id/logs', ['GET', 'HEAD']);
  routes.add('/console/*', 'GET');

  it('lists every method of a path, across routes, for parameters and wildcards', () => {
    expect(routes.allowed('/api/v1/training/runs')).toEqual(['GET', 'HEAD', 'POST']);
    expect(routes.allowed('/api/v1/training/runs/abc/logs')).toEqual(['GET', 'HEAD']);
    expect(routes.allowed('/console/assets/app.js')).toEqual(['GET']);
  });

  it('knows nothing of other paths, so they stay 404', () => {
    expect(routes.allowed('/api/v1/training/runs/abc/logs/extra')).toEqual([]);
    expect(routes.allowed('/api/v1/training/runsX')).toEqual([]);
    expect(routes.allowed('/nope')).toEqual([]);
  });
});

// System tests start services and wait for model swaps; jest's 5 s default is too short.
jest.setTimeout(120_000);

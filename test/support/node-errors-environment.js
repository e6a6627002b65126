// Node's own modules (net, tls, fs) throw errors of the host realm, while jest runs tests in a vm context with its
// own Error: `err instanceof Error` is then false for ECONNREFUSED or a TLS verify failure, and the AWS SDK's retry
// middleware replaces such an error by a bare "AWS SDK error wrapper for Error: …", dropping its code (so it is not
// retried, and the store cannot say what to check). This environment gives the test context the host's Error
// constructors, as in a normal Node process. Used by the tests that talk to S3 (@jest-environment docblock).
const NativeTypedArraysEnvironment = require('./native-typed-arrays-environment');

const SHARED = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError'];

class NodeErrorsEnvironment extends NativeTypedArraysEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = NodeErrorsEnvironment;

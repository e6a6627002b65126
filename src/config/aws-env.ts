/**
 * The AWS credentials in the environment, for a child process that cannot use the AWS SDK's own
 * credential chain (pgBackRest takes S3 keys as options). The AWS SDK reads these variables itself;
 * this is the one other place that does, and it lives in src/config with the rest of process.env.
 */
export interface AwsEnvCredentials {
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly sessionToken?: string;
  /** AWS_WEB_IDENTITY_TOKEN_FILE (with AWS_ROLE_ARN): IRSA on EKS. */
  readonly webIdentityTokenFile?: string;
}

export function awsEnvCredentials(env: NodeJS.ProcessEnv = process.env): AwsEnvCredentials {
  const get = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  return {
    accessKeyId: get('AWS_ACCESS_KEY_ID'),
    secretAccessKey: get('AWS_SECRET_ACCESS_KEY'),
    sessionToken: get('AWS_SESSION_TOKEN'),
    webIdentityTokenFile: get('AWS_WEB_IDENTITY_TOKEN_FILE'),
  };
}

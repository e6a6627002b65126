import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import { ConsoleSessionEntity } from './console-session.entity';
import { SignInLimiter } from './sign-in-limiter';
import { Principal, Role } from '../../common/auth/roles';
import { ResolvedSession, SessionResolver } from '../../common/auth/session-resolver';
import { CommonError, ErrorCode } from '../../common/errors/app-error';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { AuditService } from '../audit/audit.service';

/** What the console learns about its session (never the key, never the session id). */
export interface SessionView {
  key_id: string;
  role: Role;
  model_name: string | null;
  expires_at: string;
  csrf_token: string;
}

export interface OpenedSession {
  /** The session id for the cookie (256 random bits, base64url); only its sha256 is stored. */
  sessionId: string;
  view: SessionView;
}

const CHALLENGE = { 'www-authenticate': 'ApiKey header="X-API-Key"' };

/**
 * Console sessions: an API key exchanged for a session cookie. The session names its key by id and is
 * live only while both the session and the key are (checked on every request). The CSRF token is
 * derived from the session id, so the database holds nothing a browser could replay.
 */
@Injectable()
export class SessionsService implements SessionResolver {
  private readonly logger = new Logger('ConsoleSessions');

  constructor(
    @InjectRepository(ConsoleSessionEntity) private readonly sessions: Repository<ConsoleSessionEntity>,
    private readonly apiKeys: ApiKeysService,
    private readonly audit: AuditService,
    private readonly limiter: SignInLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async signIn(presentedKey: unknown, clientIp: string, requestId?: string): Promise<OpenedSession> {
    this.limiter.assertAllowed(clientIp);
    const principal = typeof presentedKey === 'string' && presentedKey.length > 0 ? await this.apiKeys.verify(presentedKey) : undefined;
    const key = principal ? await this.apiKeys.liveKey(principal.keyId) : undefined;
    if (!principal || !key) {
      this.limiter.recordFailure(clientIp);
      this.logger.warn({ clientIp, requestId }, 'console sign-in refused: unknown, revoked or expired API key');
      throw new CommonError(
        ErrorCode.UNAUTHENTICATED,
        'The API key is unknown, revoked or expired. Check the key you pasted, or ask an admin for one (`npm run cli -- keys create`).',
        { headers: CHALLENGE },
      );
    }
    const sessionId = randomBytes(32).toString('base64url');
    const ttlEnd = Date.now() + this.config.CONSOLE_SESSION_TTL_S * 1000;
    const expiresAt = new Date(key.expiresAt ? Math.min(ttlEnd, key.expiresAt.getTime()) : ttlEnd);
    await this.sessions.delete({ expiresAt: LessThan(new Date()) });
    await this.sessions.insert({ idHash: sha256Hex(sessionId), keyId: principal.keyId, expiresAt });
    await this.audit.record({
      actorKeyId: principal.keyId,
      action: 'console.signed_in',
      targetType: 'console_session',
      targetId: sessionRef(sessionId),
      modelName: principal.modelName,
      after: { expires_at: expiresAt.toISOString(), client_ip: clientIp },
      requestId: requestId ?? null,
    });
    return { sessionId, view: toView(principal, expiresAt, sessionId) };
  }

  /** The session's view, or 401 when there is no live session. */
  async current(sessionId: string | undefined): Promise<SessionView> {
    const found = sessionId ? await this.find(sessionId) : undefined;
    if (!found || !sessionId) {
      throw new CommonError(ErrorCode.UNAUTHENTICATED, 'No console session: sign in with an API key (POST /api/v1/session).', { headers: CHALLENGE });
    }
    return toView(found.principal, found.expiresAt, sessionId);
  }

  /**
   * Ends a session. A live session's sign-out must carry its CSRF token (403 otherwise), so a page on
   * another site cannot sign the operator out; a session already gone is simply gone.
   */
  async signOut(sessionId: string | undefined, csrfToken: string | string[] | undefined, requestId?: string): Promise<void> {
    if (!sessionId) return;
    const found = await this.find(sessionId);
    if (found && !sameToken(csrfToken, csrfTokenOf(sessionId))) {
      throw new CommonError(
        ErrorCode.FORBIDDEN,
        'Signing out needs the X-CSRF-Token header equal to the csrf_token of GET /api/v1/session. Reload the console and try again.',
      );
    }
    await this.sessions.delete({ idHash: sha256Hex(sessionId) });
    if (found) {
      await this.audit.record({
        actorKeyId: found.principal.keyId,
        action: 'console.signed_out',
        targetType: 'console_session',
        targetId: sessionRef(sessionId),
        modelName: found.principal.modelName,
        requestId: requestId ?? null,
      });
    }
  }

  /** SessionResolver: the principal behind a session cookie, re-verified against its key. */
  async resolve(sessionId: string): Promise<ResolvedSession | undefined> {
    const found = await this.find(sessionId);
    return found ? { principal: found.principal, csrfToken: csrfTokenOf(sessionId) } : undefined;
  }

  private async find(sessionId: string): Promise<{ principal: Principal; expiresAt: Date } | undefined> {
    if (sessionId.length > 100) return undefined;
    let row: ConsoleSessionEntity | null;
    try {
      row = await this.sessions.findOneBy({ idHash: sha256Hex(sessionId) });
    } catch {
      throw new CommonError(ErrorCode.DATABASE_UNAVAILABLE, 'Console sessions cannot be checked because the database is unreachable; retry shortly.', {
        headers: { 'retry-after': '5' },
      });
    }
    if (!row || row.expiresAt.getTime() <= Date.now()) return undefined;
    const key = await this.apiKeys.liveKey(row.keyId);
    if (!key) return undefined;
    return { principal: key.principal, expiresAt: row.expiresAt };
  }
}

function toView(principal: Principal, expiresAt: Date, sessionId: string): SessionView {
  return {
    key_id: principal.keyId,
    role: principal.role,
    model_name: principal.modelName,
    expires_at: expiresAt.toISOString(),
    csrf_token: csrfTokenOf(sessionId),
  };
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The CSRF token of a session: derived from its id, so it is never stored and cannot be computed from the stored hash. */
function csrfTokenOf(sessionId: string): string {
  return createHash('sha256').update(`csrf\0${sessionId}`).digest('base64url');
}

/** A reference to a session for the audit log: a prefix of its stored hash, never the id. */
function sessionRef(sessionId: string): string {
  return sha256Hex(sessionId).slice(0, 16);
}

function sameToken(presented: string | string[] | undefined, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

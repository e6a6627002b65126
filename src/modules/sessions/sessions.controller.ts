import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SessionsService, SessionView } from './sessions.service';
import { Public } from '../../common/auth/auth.decorators';
import { CSRF_HEADER, SESSION_COOKIE, sessionCookie } from '../../common/auth/session-resolver';
import { ApiProblem } from '../../common/errors/problem-responses.openapi';
import { APP_CONFIG } from '../../config/config';
import { AppConfig } from '../../config/config.schema';

export class SignInDto {
  @ApiProperty({ description: 'An API key (chk_...); exchanged for a session cookie, never stored' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  api_key: string;
}

/**
 * Sign-in for the operator console: an API key for an HttpOnly, SameSite=Strict session cookie. Public
 * routes: they check the key or the cookie themselves; every other route accepts the cookie through the
 * access guard (ApiKeyAuthenticator).
 */
@ApiTags('session')
@Controller('api/v1/session')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Public()
  @Post()
  @ApiCreatedResponse({ description: 'Signed in; the session id is in the churn_session cookie, the CSRF token in the body' })
  @ApiProblem(401, 'The API key is unknown, revoked or expired')
  @ApiProblem(429, 'Too many failed sign-ins from this address; see Retry-After')
  async signIn(@Body() body: SignInDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<SessionView> {
    const { sessionId, view } = await this.sessions.signIn(body.api_key, req.ip, req.id);
    void reply.header('set-cookie', this.cookie(sessionId, this.config.CONSOLE_SESSION_TTL_S));
    void reply.header('cache-control', 'no-store');
    return view;
  }

  @Public()
  @Get()
  @ApiOkResponse({ description: 'The current session (role, expiry, CSRF token)' })
  @ApiProblem(401, 'No live session: sign in')
  async current(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<SessionView> {
    void reply.header('cache-control', 'no-store');
    return this.sessions.current(sessionCookie(req.headers.cookie));
  }

  @Public()
  @Delete()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Signed out; the cookie is cleared' })
  @ApiProblem(403, 'The X-CSRF-Token header is missing or wrong')
  async signOut(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    await this.sessions.signOut(sessionCookie(req.headers.cookie), req.headers[CSRF_HEADER], req.id);
    void reply.header('set-cookie', this.cookie('', 0));
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    const secure = this.config.localMode ? '' : '; Secure';
    return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure}`;
  }
}

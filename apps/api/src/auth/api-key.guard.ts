import { createHash, timingSafeEqual } from 'node:crypto';
import {
  ForbiddenException, Inject, Injectable, SetMetadata, UnauthorizedException, NotFoundException,
  createParamDecorator, type CanActivate, type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CONFIG, type AppConfig } from '@app/common';
import { AppRepository, type ApiScope } from '@app/db';

export type Principal =
  | { kind: 'app'; appId: string; keyId: string; scopes: ApiScope[] }
  | { kind: 'bootstrap'; scopes: ApiScope[] };

const SCOPES = 'pgw:scopes';
/** Any of the listed scopes grants access. `admin` of an app implies every scope of it. */
export const RequireScopes = (...scopes: Array<ApiScope | 'bootstrap'>) => SetMetadata(SCOPES, scopes);

/** The authenticated caller, set by ApiKeyGuard. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext) => ctx.switchToHttp().getRequest().principal as Principal);

/** The app of an app key (routes under /v1/devices and /v1/notifications). */
export const CurrentApp = createParamDecorator((_: unknown, ctx: ExecutionContext) => {
  const p = ctx.switchToHttp().getRequest().principal as Principal;
  if (p.kind !== 'app') throw new ForbiddenException('this route needs an app key, not the bootstrap admin key');
  return p.appId;
});

const CACHE_MS = 10_000;
const sha = (s: string) => createHash('sha256').update(s).digest();

/**
 * `Authorization: Bearer <key>`. A missing or unknown key is 401; a key without the
 * route's scope is 403; a key of another app asking for /v1/apps/:appId is 404, so
 * one app cannot even learn that another exists. Lookups are cached for 10 s: a
 * revoked key stops working within that window.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly cache = new Map<string, { at: number; principal: Principal | null }>();
  private readonly bootstrapHash: Buffer;

  constructor(
    private readonly reflector: Reflector,
    private readonly apps: AppRepository,
    @Inject(CONFIG) config: AppConfig,
  ) {
    this.bootstrapHash = sha(config.bootstrapAdminKey);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const required = this.reflector.getAllAndOverride<Array<ApiScope | 'bootstrap'>>(SCOPES, [ctx.getHandler(), ctx.getClass()]);
    if (!required) return true;
    const req = ctx.switchToHttp().getRequest();
    const header = req.headers.authorization as string | undefined;
    const m = header && /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new UnauthorizedException('missing Authorization: Bearer <api key>');
    const principal = await this.resolve(m[1]);
    if (!principal) throw new UnauthorizedException('invalid or revoked api key');
    req.principal = principal;

    if (principal.kind === 'bootstrap') {
      if (required.includes('bootstrap') || required.includes('admin')) return true;
      throw new ForbiddenException(`the bootstrap admin key manages apps; use an app key with scope ${required.join(' or ')}`);
    }
    const routeApp = req.params?.appId as string | undefined;
    if (routeApp && routeApp !== principal.appId) throw new NotFoundException('app not found');
    const ok = required.some((s) => s !== 'bootstrap' && (principal.scopes.includes(s) || principal.scopes.includes('admin')));
    if (!ok) throw new ForbiddenException(`this key lacks the scope ${required.filter((s) => s !== 'bootstrap').join(' or ')}`);
    return true;
  }

  private async resolve(key: string): Promise<Principal | null> {
    const h = sha(key);
    if (h.length === this.bootstrapHash.length && timingSafeEqual(h, this.bootstrapHash)) return { kind: 'bootstrap', scopes: ['admin'] };
    const k = h.toString('hex');
    const hit = this.cache.get(k);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.principal;
    const found = await this.apps.authenticate(key);
    const principal: Principal | null = found ? { kind: 'app', appId: found.appId, keyId: found.keyId, scopes: found.scopes } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(k, { at: Date.now(), principal });
    return principal;
  }
}

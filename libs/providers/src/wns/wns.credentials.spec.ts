import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CredentialRejected } from '../provider.interface';
import { normalizeWnsCredential } from './wns.credentials';
import { tokenForm, tokenUrlFor } from './wns.auth';

const SID = 'ms-app://s-1-15-2-2939329239-1286479451-2352847103-3063474312-2385239342-1249432912-1111111111';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0b6e7c1d-3f4a-4b5c-8d9e-0f1a2b3c4d5e';

function rejects(input: unknown, rule: RegExp): void {
  assert.throws(() => normalizeWnsCredential(input), (e: unknown) => e instanceof CredentialRejected && rule.test(e.message));
}

describe('WNS credentials', () => {
  it('accepts the legacy flow and summarises it without the secret', () => {
    const c = normalizeWnsCredential({ flow: 'legacy', packageSid: SID, clientSecret: 'top-secret' });
    assert.deepEqual(c.secret, { flow: 'legacy', packageSid: SID, clientSecret: 'top-secret' });
    assert.deepEqual(c.summary, { flow: 'legacy', packageSid: SID });
    assert.equal(c.environment, null);
  });

  it('accepts the entra flow, inferring it from tenantId', () => {
    const c = normalizeWnsCredential({ tenantId: TENANT, clientId: CLIENT, clientSecret: 'top-secret' });
    assert.deepEqual(c.secret, { flow: 'entra', tenantId: TENANT, clientId: CLIENT, clientSecret: 'top-secret' });
    assert.deepEqual(c.summary, { flow: 'entra', tenantId: TENANT, clientId: CLIENT });
    assert.ok(!JSON.stringify(c.summary).includes('top-secret'));
    assert.equal(normalizeWnsCredential({ flow: 'entra', tenantId: 'contoso.onmicrosoft.com', clientId: CLIENT, clientSecret: 's' }).summary.tenantId, 'contoso.onmicrosoft.com');
  });

  it('names the field it rejects', () => {
    rejects(null, /^config\.: must be an object/);
    rejects({ flow: 'modern' }, /^config\.flow: must be "legacy" or "entra"/);
    rejects({ packageSid: 'ms-app://nope', clientSecret: 's' }, /^config\.packageSid: must be a Package SID/);
    rejects({ packageSid: SID }, /^config\.clientSecret: is required/);
    rejects({ packageSid: SID, clientSecret: '' }, /^config\.clientSecret: is required/);
    rejects({ packageSid: SID, clientSecret: 's', tenant: 'x' }, /^config\.tenant: unknown field for the legacy flow/);
    rejects({ flow: 'entra', tenantId: '../../evil', clientId: CLIENT, clientSecret: 's' }, /^config\.tenantId: must be a tenant GUID or domain/);
    rejects({ flow: 'entra', tenantId: 'evil.example/x?y', clientId: CLIENT, clientSecret: 's' }, /^config\.tenantId:/);
    rejects({ flow: 'entra', tenantId: TENANT, clientId: 'app', clientSecret: 's' }, /^config\.clientId: must be the application \(client\) id GUID/);
    rejects({ flow: 'entra', tenantId: TENANT, clientId: CLIENT, clientSecret: 's', packageSid: SID }, /^config\.packageSid: unknown field for the entra flow/);
  });

  it('builds the token request of each flow with Microsoft\'s scopes and URLs', () => {
    const urls = { legacyTokenUrl: 'https://login.live.com/accesstoken.srf', entraTokenUrlTemplate: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token' };
    const legacy = { flow: 'legacy' as const, packageSid: SID, clientSecret: 's&=' };
    const entra = { flow: 'entra' as const, tenantId: TENANT, clientId: CLIENT, clientSecret: 's' };
    assert.equal(tokenUrlFor(legacy, urls).href, 'https://login.live.com/accesstoken.srf');
    assert.equal(tokenUrlFor(entra, urls).href, `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`);
    assert.deepEqual(Object.fromEntries(tokenForm(legacy)), { grant_type: 'client_credentials', client_id: SID, client_secret: 's&=', scope: 'notify.windows.com' });
    assert.deepEqual(Object.fromEntries(tokenForm(entra)), { grant_type: 'client_credentials', client_id: CLIENT, client_secret: 's', scope: 'https://wns.windows.com/.default' });
  });
});

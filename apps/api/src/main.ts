import { createLogger, getConfig } from '@app/common';
import { createApi } from './api.bootstrap';

async function main(): Promise<void> {
  const config = getConfig();
  const app = await createApi(config);
  await app.listen(config.apiPort, config.apiHost);
  createLogger('api').log({ msg: 'api ready', url: await app.getUrl(), queueBackend: config.queueBackend });
}

main().catch((err) => {
  createLogger('api').error({ msg: 'api failed to start', error: (err as Error).message });
  process.exit(1);
});

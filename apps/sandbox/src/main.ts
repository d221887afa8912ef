import { createLogger } from '@app/common';
import { startSandbox } from '@app/sandbox';

/** Sandbox process: local stand-ins for APNs, FCM, WNS and Web Push. Never for production. */
async function main(): Promise<void> {
  const logger = createLogger('sandbox');
  const port = (name: string, def: number) => Number(process.env[name] ?? def);
  const sb = await startSandbox({
    dataDir: process.env.SANDBOX_DATA_DIR ?? '.sandbox',
    ports: {
      control: port('SANDBOX_CONTROL_PORT', 4000),
      apns: port('SANDBOX_APNS_PORT', 4001),
      apnsSandbox: port('SANDBOX_APNS_SANDBOX_PORT', 4011),
      fcm: port('SANDBOX_FCM_PORT', 4002),
      wns: port('SANDBOX_WNS_PORT', 4003),
      webpush: port('SANDBOX_WEBPUSH_PORT', 4004),
    },
    countOnly: process.env.SANDBOX_COUNT_ONLY === 'true',
  });
  logger.log({ msg: 'sandbox ready', control: sb.controlUrl, ca: sb.caFile, ...sb.urls, apnsSandbox: sb.apnsSandboxUrl });
  const stop = async () => {
    await sb.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  createLogger('sandbox').error(err);
  process.exit(1);
});

import { Logger } from '@nestjs/common';
import { createLogger, getConfig } from '@app/common';
import { startWorker } from './worker.bootstrap';

async function main(): Promise<void> {
  const logger = createLogger('worker');
  // Nest's own lines (module initialisation, lifecycle errors) as JSON lines too. Set here,
  // for the process: Nest's logger is process-wide, and tests start workers in processes
  // whose Nest logger belongs to an API.
  Logger.overrideLogger(logger);
  const worker = await startWorker(getConfig());
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log({ msg: 'stopping: finishing active jobs', signal });
    await worker.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  createLogger('worker').error({ msg: 'worker failed to start', error: (err as Error).message });
  process.exit(1);
});

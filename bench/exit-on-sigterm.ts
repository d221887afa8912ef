/**
 * Preloaded (`node -r`) into a process started with --cpu-prof that has no SIGTERM
 * handler of its own (the api): exiting through process.exit() lets V8 write the profile.
 */
process.once('SIGTERM', () => process.exit(0));

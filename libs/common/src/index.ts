export * from './config';
export * from './secret-box';
export * from './url-guard';
export * from './redact';
export * from './ids';
export * from './logger';
export * from './tls-trust';
export * from './config.module';

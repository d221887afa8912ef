import { Global, Module, type DynamicModule, type LoggerService } from '@nestjs/common';
import type { AppConfig } from './config';

/** Injection tokens of the process's configuration and logger (values, not classes). */
export const CONFIG = Symbol('CONFIG');
export const LOGGER = Symbol('LOGGER');

/**
 * The validated configuration (CONFIG) and the app's logger (LOGGER), for every module of
 * the API and the worker. The caller passes the config it loaded (getConfig() in main.ts,
 * one per stack in the tests), so nothing here reads the environment.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig, logger: LoggerService): DynamicModule {
    const providers = [
      { provide: CONFIG, useValue: config },
      { provide: LOGGER, useValue: logger },
    ];
    return { module: ConfigModule, providers, exports: providers.map((p) => p.provide) };
  }
}

export * from './database';
export * from './schema';
export * from './repositories/app.repository';
export * from './repositories/credential.repository';
export * from './repositories/device.repository';
export * from './repositories/notification.repository';
export * from './repositories/event.repository';
export * from './repositories/webhook.repository';

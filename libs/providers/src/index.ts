export * from './canonical';
export * from './provider.interface';
export * from './provider-context';
export * from './provider-registry';

// The sandbox: local stand-ins for APNs, FCM, WNS and Web Push that speak each service's
// real protocol. apps/sandbox starts them as a process; the provider libraries' tests, the
// end-to-end harness and the benchmark start them in-process. Never part of production.
export * from './sandbox';
export * from './core/stand-in';
export * from './core/receipt-store';
export * from './core/fault-plan';
export * from './core/traffic-meter';
export * from './core/sandbox-ca';
export { ApnsStandIn } from './apns/apns.stand-in';
export { FcmStandIn } from './fcm/fcm.stand-in';
export { WnsStandIn } from './wns/wns.stand-in';
export { WebpushStandIn } from './webpush/webpush.stand-in';

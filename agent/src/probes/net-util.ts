// Moved to lib/net-util.ts; this re-export stays until host, ipv6 and security import lib/net-util.ts.
export * from './lib/net-util.js';

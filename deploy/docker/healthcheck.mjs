// Docker HEALTHCHECK of the collector image: exit 0 when GET /healthz answers 200 within 4 s.
// CAMPUSWATCH_HEALTH_URL (default http://127.0.0.1:8080/healthz) names the collector's own listener; over
// https the certificate is not verified (the check only asks whether this container's process answers).
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

const url = new URL(process.env.CAMPUSWATCH_HEALTH_URL ?? 'http://127.0.0.1:8080/healthz');
const get = url.protocol === 'https:' ? httpsGet : httpGet;
const req = get(url, { timeout: 4000, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (err) => {
  process.stderr.write(`healthcheck: ${url.href}: ${err.message}\n`);
  process.exit(1);
});

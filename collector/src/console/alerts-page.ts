/** The console's alerts page (to be written). */
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';

export function alertsPage(_app: FastifyInstance, _ctx: CollectorContext): void {}

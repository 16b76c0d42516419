/** The console's fleet page (to be written). */
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';

export function fleetPage(_app: FastifyInstance, _ctx: CollectorContext): void {}

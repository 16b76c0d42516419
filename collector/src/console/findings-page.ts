/** The console's findings page (to be written). */
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';

export function findingsPage(_app: FastifyInstance, _ctx: CollectorContext): void {}

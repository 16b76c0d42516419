import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { CollectorContext } from '../context.js';
import { sendError, sendRetryLater } from '../errors.js';
import { payloadStream } from '../speedtest/payload.js';
import type { SlotScheduler } from '../speedtest/slots.js';
import { attachUploadSink, UPLOAD_PATH, UPLOAD_PROTOCOL } from '../speedtest/upload-sink.js';
import { agentAuth } from './auth.js';

const SlotQuery = Type.Object(
  {
    slot: Type.String({ minLength: 1, maxLength: 64 }),
    seconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 3600 })),
  },
  { additionalProperties: false },
);

/** Slot scheduling: on the API (small JSON requests). */
export function speedtestSlotRoutes(
  app: FastifyInstance,
  ctx: CollectorContext,
  slots: SlotScheduler,
  streamUrl: () => string | undefined,
): void {
  const auth = agentAuth(ctx);
  app.post(
    '/api/v1/speedtest/slots',
    { onRequest: auth, config: { access: 'agent' } },
    async (req, reply) => {
      const agent = req.agent!;
      const r = slots.request(agent.id, agent.schoolId);
      if ('retryAfterS' in r) {
        return sendRetryLater(reply, 429, r.retryAfterS, `${r.reason}; retry in ${r.retryAfterS} s`);
      }
      req.log.info(
        { slot: r.granted.id, agentId: agent.id, schoolId: agent.schoolId },
        'speed-test slot granted',
      );
      return reply.code(201).send({
        slotId: r.granted.id,
        url: streamUrl() ?? null,
        expiresAt: new Date(r.granted.expiresAt).toISOString(),
        maxStreamSeconds: ctx.config.speedtest.maxStreamSeconds,
        sliceMs: slots.sliceMs,
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/speedtest/slots/:id',
    { onRequest: auth, config: { access: 'agent' } },
    async (req, reply) => {
      const slot = slots.get(req.params.id, req.agent!.id);
      if (!slot) return sendError(reply, 404, 'no such slot for this agent (expired or released)');
      return {
        slotId: slot.id,
        expiresAt: new Date(slot.expiresAt).toISOString(),
        sliceMs: slots.sliceMs,
        upload: { bytes: slot.upload.bytes, slices: slot.upload.slices },
        downloadBytes: slot.downloadBytes,
      };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/speedtest/slots/:id',
    { onRequest: auth, config: { access: 'agent' } },
    async (req, reply) => {
      if (!slots.release(req.params.id, req.agent!.id))
        return sendError(reply, 404, 'no such slot for this agent');
      return reply.code(204).send();
    },
  );

  app.get('/api/v1/speedtest/stats', { config: { access: 'read' } }, async () => slots.stats());
}

/** The byte streams: on the API app, or on a listener of their own (`speedtest.listen`). */
export function speedtestStreamRoutes(
  app: FastifyInstance,
  ctx: CollectorContext,
  slots: SlotScheduler,
): void {
  const auth = agentAuth(ctx);
  const maxSeconds = ctx.config.speedtest.maxStreamSeconds;
  const maxStreams = ctx.config.speedtest.maxStreamsPerSlot;
  const tooMany = (kind: string) =>
    `this slot already has ${maxStreams} ${kind} streams open (speedtest.maxStreamsPerSlot)`;

  app.get<{ Querystring: { slot: string } }>(
    '/api/v1/speedtest/ping',
    { onRequest: auth, schema: { querystring: SlotQuery }, config: { access: 'agent' } },
    async (req, reply) => {
      if (!slots.get(req.query.slot, req.agent!.id)) return sendError(reply, 403, 'no live speed-test slot');
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: { slot: string; seconds?: number } }>(
    '/api/v1/speedtest/download',
    { onRequest: auth, schema: { querystring: SlotQuery }, config: { access: 'agent' } },
    async (req, reply) => {
      const slot = slots.get(req.query.slot, req.agent!.id);
      if (!slot) return sendError(reply, 403, 'no live speed-test slot');
      // the slot's end closes the connection: a download never outlives its slot
      const done = slots.openStream(slot, 'download', maxStreams, () => reply.raw.destroy());
      if (!done) return sendError(reply, 429, tooMany('download'));
      reply.raw.once('close', done);
      const seconds = Math.min(req.query.seconds ?? maxSeconds, maxSeconds);
      reply.header('content-type', 'application/octet-stream').header('cache-control', 'no-store');
      return reply.send(
        payloadStream(seconds, (n) => {
          slot.downloadBytes += n;
        }),
      );
    },
  );

  attachUploadSink(app.server, {
    maxSeconds,
    async admit(req, slotId, socket) {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      // awaited: the state store may answer asynchronously (PostgreSQL)
      const agent = m ? await ctx.state.authenticate(m[1]!) : undefined;
      if (!agent) return { status: 401, reason: 'invalid or missing agent token' };
      const slot = slots.get(slotId, agent.id);
      if (!slot) return { status: 403, reason: 'no live speed-test slot' };
      const closed = slots.openStream(slot, 'upload', maxStreams, () => socket.destroy());
      if (!closed) return { status: 429, reason: tooMany('upload') };
      return { count: (n) => slots.countUpload(slot, n), closed };
    },
    onError: (err) => ctx.log.warn({ err: err.message }, 'speed-test upload stream failed'),
    onDebug: (fields, msg) => ctx.log.debug(fields, msg),
  });
  // without the Upgrade the request reaches the router: say what is missing (a proxy may have dropped it)
  const upgradeRequired = async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.header('upgrade', UPLOAD_PROTOCOL).header('connection', 'upgrade');
    return sendError(
      reply,
      426,
      `the upload stream needs "Upgrade: ${UPLOAD_PROTOCOL}"; a reverse proxy in front of the speed-test service must pass Upgrade requests (or set speedtest.listen)`,
    );
  };
  app.get(UPLOAD_PATH, { onRequest: auth, config: { access: 'agent' } }, upgradeRequired);
  app.post(UPLOAD_PATH, { onRequest: auth, config: { access: 'agent' } }, upgradeRequired);
}

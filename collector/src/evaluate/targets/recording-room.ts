/** 录播室: "80%的学校建有自动录播室" (Changzhou 2019–2020): has one (建有) and it works (可用). */
import type { Static } from 'typebox';
import { builtTarget, type RoomTargetSection, workingTarget } from './room-target.js';

const kind = {
  roomType: 'recording',
  section: 'recordingRoom',
  label: { zh: '录播室', en: 'Recording room' },
  short: 'rec',
  noun: 'recording room',
  source: '常州 2019–2020：80%的学校建有自动录播室',
} as const;

declare module './config.js' {
  interface TargetSections {
    recordingRoom: Static<typeof RoomTargetSection>;
  }
}

export const recordingRoom = builtTarget(kind);
export const recordingRoomWorking = workingTarget(kind);

/** 智慧教室: "每校建有智慧教室" (Changzhou 2019–2020): has one (建有) and it works (可用). */
import type { Static } from 'typebox';
import { builtTarget, type RoomTargetSection, workingTarget } from './room-target.js';

const kind = {
  roomType: 'smart',
  section: 'smartClassroom',
  label: { zh: '智慧教室', en: 'Smart classroom' },
  short: 'smart',
  noun: 'smart classroom',
  source: '常州 2019–2020：每校建有智慧教室',
} as const;

declare module './config.js' {
  interface TargetSections {
    smartClassroom: Static<typeof RoomTargetSection>;
  }
}

export const smartClassroom = builtTarget(kind);
export const smartClassroomWorking = workingTarget(kind);

/**
 * The targets of the plan, in the order reports list them: the only list. Adding a target is a module
 * (evaluation, unit, criterion, section schema), a line here, its section of config/targets.yaml and its
 * tests; targets.ts, the term report and the console read the rest from here.
 */
import { backbone } from './backbone.js';
import { deviceAvailability } from './device-availability.js';
import { interactiveClassrooms } from './interactive-classrooms.js';
import { ipv6 } from './ipv6.js';
import { liveClass } from './live-class.js';
import { multimediaRooms } from './multimedia-rooms.js';
import { recordingRoom, recordingRoomWorking } from './recording-room.js';
import { schoolConnected } from './school-connected.js';
import { security } from './security.js';
import { smartClassroom, smartClassroomWorking } from './smart-classroom.js';
import type { TargetModule } from './target.js';
import { uplinkBandwidth } from './uplink-bandwidth.js';
import { wirelessCoverage } from './wireless-coverage.js';

export const TARGETS: readonly TargetModule[] = [
  schoolConnected,
  uplinkBandwidth,
  backbone,
  ipv6,
  wirelessCoverage,
  interactiveClassrooms,
  multimediaRooms,
  recordingRoom,
  recordingRoomWorking,
  smartClassroom,
  smartClassroomWorking,
  deviceAvailability,
  security,
  liveClass,
];

export const TARGET_NAMES: readonly string[] = TARGETS.map((t) => t.name);

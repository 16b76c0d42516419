/** 2. 学校详情 (School detail): uplink, SNMP ports, IPv6, rooms and devices, open findings of one school. */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  baseDashboard,
  filters,
  Grid,
  okMapping,
  q,
  rollup,
  targets,
  thresholds,
  UIDS,
  type VariableName,
} from './common.js';
import { speedText, type TargetsConfig, teachingHoursText, tierText } from './goals.js';
import { select } from './influxql.js';
import { liveClassPanels } from './live-class.js';
import { LIMIT_LINE, statPanel, statusHistoryPanel, tablePanel, timeseriesPanel } from './panels.js';

const VARS: VariableName[] = ['district', 'group', 'school'];
const F = () => filters(...VARS);

export function school(t: TargetsConfig): dashboard.DashboardBuilder {
  const grid = new Grid();
  const d = baseDashboard(
    UIDS.school,
    '学校详情 (School detail)',
    'One school: speed tests against its tier target, SNMP uplink and port speeds, IPv6 readiness, rooms and devices, open findings.',
    VARS,
  );

  d.withPanel(
    grid.place(
      tablePanel({
        title: '达标情况 (Targets)',
        description: 'Latest compliance row per target: met, measured value, goal and gap.',
        targets: targets(
          q(
            select(
              'last("met") AS "met"',
              'last("value") AS "value"',
              'last("goal") AS "goal"',
              'last("gap") AS "gap"',
            )
              .from('compliance')
              .where(...F())
              .groupBy('target'),
            { table: true },
          ),
        ),
      })
        .overrideByName('met', [
          { id: 'mappings', value: okMapping('达标', '未达标') },
          { id: 'custom.cellOptions', value: { type: 'color-background' } },
        ])
        .overrideByName('Time', [{ id: 'custom.hidden', value: true }]),
      12,
      8,
    ),
  );
  d.withPanel(
    grid.place(
      statPanel({
        title: '教学时段设备可用率 (Device availability in teaching hours)',
        description: `Teaching hours ${teachingHoursText(t)} (school time zone); outside teaching hours a powered-off device is not an outage. Goal ${t.deviceAvailability.minPct}%.`,
        unit: 'percent',
        targets: targets(
          q(
            select('last("value") AS "availability"')
              .from('compliance')
              .where('"target" = \'device_availability\'', ...F()),
          ),
        ),
      }).thresholds(
        thresholds([
          [null, 'red'],
          [Math.max(0, t.deviceAvailability.minPct - 4), 'orange'],
          [t.deviceAvailability.minPct, 'green'],
        ]),
      ),
      6,
      8,
    ),
  );
  d.withPanel(
    grid.place(
      statPanel({
        title: '上行目标 (Uplink tier target)',
        description: `Tier target of the school (${tierText(t)}).`,
        unit: 'Mbits',
        targets: targets(
          q(
            select('last("target_mbps") AS "target"')
              .from('uplink_speedtest')
              .where(...F()),
          ),
        ),
      }).colorMode(common.BigValueColorMode.None),
      6,
      8,
    ),
  );

  // Speed tests with the tier target as a dashed red threshold line.
  d.withPanel(
    grid.place(
      timeseriesPanel({
        title: '上行测速 (Speed tests, target as threshold line)',
        description: 'Measured down/up throughput (mean of the steady phase) and the school tier target.',
        unit: 'Mbits',
        targets: targets(
          q(
            select('mean("mbps")')
              .from('uplink_speedtest')
              .where('"ok" = 1', ...F())
              .groupByTime('$__interval', 'direction', 'method')
              .fill('none'),
            { alias: '$tag_direction ($tag_method)' },
          ),
          q(
            select('max("target_mbps")')
              .from('uplink_speedtest')
              .where(...F())
              .groupByTime('$__interval')
              .fill('previous'),
            { alias: '目标 (target)' },
          ),
        ),
      })
        .showPoints(common.VisibilityMode.Always)
        .overrideByName('目标 (target)', [
          { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
          ...LIMIT_LINE,
        ]),
      12,
      9,
    ),
  );
  d.withPanel(
    grid.place(
      timeseriesPanel({
        title: '测速年度趋势 (Speed tests over the school year, daily rollup)',
        description: 'Daily min/mean/max from rollup_1d (kept 3 years).',
        unit: 'Mbits',
        targets: targets(
          q(
            select('mean("mbps_mean")')
              .from(rollup('1d', 'uplink_speedtest'), { raw: true })
              .where(...F())
              .groupByTime('1d', 'direction')
              .fill('none'),
            { alias: '$tag_direction mean' },
          ),
          q(
            select('min("mbps_min")')
              .from(rollup('1d', 'uplink_speedtest'), { raw: true })
              .where(...F())
              .groupByTime('1d', 'direction')
              .fill('none'),
            { alias: '$tag_direction min' },
          ),
          q(
            select('max("target_mbps_max")')
              .from(rollup('1d', 'uplink_speedtest'), { raw: true })
              .where(...F())
              .groupByTime('1d')
              .fill('none'),
            { alias: '目标 (target)' },
          ),
        ),
      }).timeFrom('365d'),
      12,
      9,
    ),
  );

  // SNMP: uplink utilisation and traffic, port speeds.
  d.withPanel(
    grid.place(
      timeseriesPanel({
        title: '上行利用率 (SNMP uplink utilisation)',
        description: 'ifHCIn/OutOctets rates over ifHighSpeed of the uplink interfaces.',
        unit: 'percent',
        targets: targets(
          q(
            select('max("util_pct")')
              .from('uplink_snmp')
              .where('"role" = \'uplink\'', ...F())
              .groupByTime('$__interval', 'device', 'ifname')
              .fill('none'),
            { alias: '$tag_device $tag_ifname' },
          ),
        ),
      })
        .min(0)
        .thresholds(
          thresholds([
            [null, 'green'],
            [80, 'red'],
          ]),
        ),
      8,
      9,
    ),
  );
  d.withPanel(
    grid.place(
      timeseriesPanel({
        title: '上行流量 (SNMP uplink in/out)',
        description: 'Inbound and outbound rate of the uplink interfaces.',
        unit: 'Mbits',
        targets: targets(
          q(
            select('mean("in_mbps")')
              .from('uplink_snmp')
              .where('"role" = \'uplink\'', ...F())
              .groupByTime('$__interval', 'device', 'ifname')
              .fill('none'),
            { alias: 'in $tag_device $tag_ifname' },
          ),
          q(
            select('mean("out_mbps")')
              .from('uplink_snmp')
              .where('"role" = \'uplink\'', ...F())
              .groupByTime('$__interval', 'device', 'ifname')
              .fill('none'),
            { alias: 'out $tag_device $tag_ifname' },
          ),
        ),
      }),
      8,
      9,
    ),
  );
  d.withPanel(
    grid.place(
      tablePanel({
        title: `端口速率 (Port speeds: core ≥ ${speedText(t.backbone.coreMinMbps)}, access ≥ ${speedText(t.backbone.accessMinMbps)})`,
        description: '万兆主干、千兆到桌面: ifHighSpeed and oper status of the polled interfaces.',
        targets: targets(
          q(
            select('last("if_speed_mbps") AS "speed_mbps"', 'last("oper_up") AS "oper_up"')
              .from('uplink_snmp')
              .where(...F())
              .groupBy('device', 'ifname', 'role'),
            { table: true },
          ),
        ),
      })
        .overrideByName('oper_up', [
          { id: 'mappings', value: okMapping('up', 'down') },
          { id: 'custom.cellOptions', value: { type: 'color-background' } },
        ])
        .overrideByName('speed_mbps', [
          { id: 'unit', value: 'Mbits' },
          {
            id: 'thresholds',
            value: {
              mode: 'absolute',
              steps: [
                { value: null, color: 'red' },
                { value: t.backbone.accessMinMbps, color: 'green' },
              ],
            },
          },
          { id: 'custom.cellOptions', value: { type: 'color-text' } },
        ])
        .overrideByName('Time', [{ id: 'custom.hidden', value: true }]),
      8,
      9,
    ),
  );

  // IPv6.
  d.withPanel(
    grid.place(
      tablePanel({
        title: 'IPv6 检查 (IPv6 checks)',
        description: 'test-ipv6 style checks and the school services over IPv6.',
        targets: targets(
          q(
            select('last("ok") AS "ok"', 'last("ms") AS "ms"')
              .from('ipv6')
              .where('"check" != \'score\'', ...F())
              .groupBy('check', 'service'),
            { table: true },
          ),
        ),
      })
        .overrideByName('ok', [
          { id: 'mappings', value: okMapping('通过 (ok)', '失败 (failed)') },
          { id: 'custom.cellOptions', value: { type: 'color-background' } },
        ])
        .overrideByName('ms', [{ id: 'unit', value: 'ms' }])
        .overrideByName('Time', [{ id: 'custom.hidden', value: true }]),
      12,
      9,
    ),
  );
  d.withPanel(
    grid.place(
      timeseriesPanel({
        title: 'IPv6 得分 (IPv6 readiness scores)',
        description: `Score 0–10 with IPv6 and for an IPv4-only client; target ≥ ${t.ipv6.minScore}.`,
        targets: targets(
          q(
            select('last("score_v6")')
              .from('ipv6')
              .where('"check" = \'score\'', ...F())
              .groupByTime('$__interval')
              .fill('none'),
            { alias: 'IPv6' },
          ),
          q(
            select('last("score_v4only")')
              .from('ipv6')
              .where('"check" = \'score\'', ...F())
              .groupByTime('$__interval')
              .fill('none'),
            { alias: 'IPv4-only' },
          ),
        ),
      })
        .min(0)
        .max(10)
        .showPoints(common.VisibilityMode.Always)
        .thresholdsStyle(
          new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Line),
        )
        .thresholds(
          thresholds([
            [null, 'red'],
            [t.ipv6.minScore, 'green'],
          ]),
        ),
      12,
      9,
    ),
  );

  // 专递课堂: delay, jitter and loss to the live-class platform.
  liveClassPanels(d, grid, VARS);

  // Rooms and devices.
  d.withPanel(
    grid.place(
      statusHistoryPanel({
        title: '教室与设备状态 (Rooms and devices, up/down)',
        description: 'One row per room and device; red is down (worst check in the interval).',
        targets: targets(
          q(
            select('min("up")')
              .from('device')
              .where(...F())
              .groupByTime('$__interval', 'room', 'device')
              .fill('none'),
            { alias: '$tag_room / $tag_device' },
          ),
        ),
      })
        .mappings(okMapping('在线 (up)', '离线 (down)'))
        .thresholds(
          thresholds([
            [null, 'red'],
            [1, 'green'],
          ]),
        ),
      14,
      10,
    ),
  );
  d.withPanel(
    grid.place(
      tablePanel({
        title: '设备可用率 (Device availability in the range)',
        description: 'Share of checks that found the device up, and its latest state, per room and device.',
        targets: targets(
          q(
            select(
              'mean("up") * 100 AS "availability_pct"',
              'last("up") AS "up"',
              'mean("rtt_ms") AS "rtt_ms"',
            )
              .from('device')
              .where(...F())
              .groupBy('room_type', 'room', 'device'),
            { table: true },
          ),
        ),
      })
        .overrideByName('up', [
          { id: 'mappings', value: okMapping('在线 (up)', '离线 (down)') },
          { id: 'custom.cellOptions', value: { type: 'color-background' } },
        ])
        .overrideByName('availability_pct', [
          { id: 'unit', value: 'percent' },
          { id: 'decimals', value: 2 },
          {
            id: 'thresholds',
            value: {
              mode: 'absolute',
              steps: [
                { value: null, color: 'red' },
                { value: t.deviceAvailability.minPct, color: 'green' },
              ],
            },
          },
          { id: 'custom.cellOptions', value: { type: 'color-text' } },
        ])
        .overrideByName('rtt_ms', [{ id: 'unit', value: 'ms' }])
        .overrideByName('Time', [{ id: 'custom.hidden', value: true }]),
      10,
      10,
    ),
  );

  // Open findings with evidence and 等保 clause.
  d.withPanel(
    grid.place(
      tablePanel({
        title: '未关闭的安全发现 (Open findings, evidence and 等保 clause)',
        description:
          'Open findings of this school: rule, severity, what was looked at, measured evidence, GB/T 22239-2019 clause.',
        targets: targets(
          q(
            select('"open"', '"value" AS "evidence"')
              .from(
                select('last("open") AS "open"', 'last("value") AS "value"')
                  .from('finding')
                  .where(...F())
                  .groupBy('rule', 'severity', 'target', 'mlps'),
              )
              .where('"open" = 1')
              .noTimeFilter()
              .groupBy('severity', 'rule', 'target', 'mlps'),
            { table: true },
          ),
        ),
      })
        .overrideByName('severity', [
          {
            id: 'mappings',
            value: [
              {
                type: 'value',
                options: {
                  critical: { text: '严重 (critical)', color: 'dark-red', index: 0 },
                  high: { text: '高 (high)', color: 'red', index: 1 },
                  medium: { text: '中 (medium)', color: 'orange', index: 2 },
                  low: { text: '低 (low)', color: 'yellow', index: 3 },
                },
              },
            ],
          },
          { id: 'custom.cellOptions', value: { type: 'color-background' } },
        ])
        .overrideByName('mlps', [{ id: 'displayName', value: '等保条款 (GB/T 22239 clause)' }])
        .overrideByName('open', [{ id: 'custom.hidden', value: true }])
        .overrideByName('Time', [{ id: 'custom.hidden', value: true }]),
      24,
      8,
    ),
  );
  return d;
}

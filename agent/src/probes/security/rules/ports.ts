// Rule family "ports": high-risk-port — services that should never face the school network.
import { type DevicePlan, tcpPortCheck } from '../check.js';

/**
 * High-risk ports (GB/T 22239-2019 8.1.4.4): RPC 135, NetBIOS 137–139, SMB 445, RDP 3389, VNC 5900–5902,
 * MSSQL 1433, MySQL 3306, PostgreSQL 5432, Redis 6379, MongoDB 27017. NetBIOS 137 (name service) and
 * 138 (datagram service) are UDP services in reality; this scan is connect-only, so they are tested
 * over TCP only (a TCP listener there is rare but still worth reporting; an open UDP 137/138 is not seen).
 */
export const HIGH_RISK_PORTS: readonly number[] = [
  135, 137, 138, 139, 445, 3389, 5900, 5901, 5902, 1433, 3306, 5432, 6379, 27017,
];

/** high-risk-port: one connect per port; an open port is the problem, its number the value. */
export const highRiskPlan: DevicePlan = (d, env) =>
  env.highRiskPorts.map((port) => ({
    subjects: [d.subject('high-risk-port', port)],
    run: () =>
      d.withAddress(1, async (a) => {
        const v = await tcpPortCheck(a, port, env.timeoutMs, env.signal);
        return [{ ...v, value: port }];
      }),
  }));

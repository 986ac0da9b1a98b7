"""Effective capacitance of a driver into a resistive (pi-model) load, and the delay and slew through the wire.

This is the DMP method (Dartu, Menezes, Pileggi) as OpenSTA's `DmpCeff` applies
it to a wire-load pi model (near capacitance c2, resistance rpi, far
capacitance c1). The driver is a saturated ramp (start t0, duration dt) behind
a resistance rd (the slope of the table's delay over load); t0, dt and the
effective capacitance are solved so that the ramp into ceff crosses the 20 % and
50 % points when the table says, and (pi model) draws the pi load's charge. The
driver's delay is the table's at ceff (pi) or the crossing of the driver
waveform (c2 = 0), its slew the waveform's; a sink at Elmore delay e sees that
waveform through one more pole 1/e. A load with negligible resistance is a
plain capacitance: table values at c1 + c2, Elmore wire delay, driver slew.
Times in seconds, capacitances in farads, resistances in ohms.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

DRIVER_TOLERANCE = 0.01
CROSSING_TOLERANCE = 0.01
NEWTON_ITERATIONS = 100
ROOT_ITERATIONS = 20

Table = Callable[[float], tuple[float, float]]  # load (F) -> (delay, slew) at the arc's input slew
Wave = Callable[[float], tuple[float, float]]  # time (s) -> (value, slope)


@dataclass(frozen=True)
class Thresholds:
    """Library thresholds as fractions of the supply, and the slew derate (Liberty `slew_derate_from_library`)."""

    vth: float = 0.5
    vl: float = 0.2
    vh: float = 0.8
    derate: float = 1.0


class Driver:
    """One arc's driver into one pi load: `delay_s`, `slew_s`, and `wire(elmore_s)` for each sink."""

    def __init__(self, table: Table, c2: float, rpi: float, c1: float, thresholds: Thresholds):
        self.table, self.th = cache(table), thresholds  # Newton steps revisit loads: each looked up once
        self.c1, self.c2, self.rpi = c1, c2, rpi
        self.valid = False
        self._wires: dict[float, tuple[float, float]] = {}
        total = c1 + c2
        cap1 = total * 0.75
        cap2 = cap1 * 1.1
        self.rd = abs(table(cap1)[0] - table(cap2)[0]) / (cap2 - cap1) if cap2 > cap1 else 0.0
        rd = self.rd
        if rd < 1e-2 or rpi < rd * 1e-3 or c1 == 0.0 or c1 < c2 * 1e-3 or rpi == 0.0:
            self.kind = "cap"
            self.delay_s, self.slew_s = table(total)
        elif c2 < c1 * 1e-3:
            self.kind = "zero_c2"
            self._zero_c2()
        else:
            self.kind = "pi"
            self._pi()

    # ------------------------------------------------------------ the driver
    def _gate(self, ceff: float) -> tuple[float, float, float]:
        """(t_vth, t_vl, slew) of the table at ceff, slew as measured (derated)."""
        t_vth, slew = self.table(ceff)
        slew *= self.th.derate
        return t_vth, t_vth - slew * (self.th.vth - self.th.vl) / (self.th.vh - self.th.vl), slew

    def _start(self, ceff: float) -> list[float]:
        t_vth, _, slew = self._gate(ceff)
        dt = slew / (self.th.vh - self.th.vl)
        return [t_vth + math.log(1.0 - self.th.vth) * self.rd * ceff - self.th.vth * dt, dt]

    def _zero_c2(self) -> None:
        c1, rpi, rd = self.c1, self.rpi, self.rd
        self.ceff = c1
        z1 = 1.0 / (rpi * c1)
        self.p1 = 1.0 / (c1 * (rd + rpi))
        k0 = self.p1 / z1
        k1 = (self.p1 - z1) / (self.p1 * self.p1)
        self.k = (k0, k1, 1.0 / k0, -k1)
        x = self._newton(self._start(c1), self._one_pole)
        if x is not None:
            self.t0, self.dt = x
            self.valid = True
        found = self._driver_crossings() if self.valid else None
        if found is None:
            self.delay_s, self.slew_s = self.table(c1)
        else:
            self.delay_s, self.slew_s = found
        self.vo_delay = self.delay_s

    def _pi(self) -> None:
        c1, c2, rpi, rd = self.c1, self.c2, self.rpi, self.rd
        z1 = 1.0 / (rpi * c1)
        k0 = 1.0 / (rd * c2)
        a = rpi * rd * c1 * c2
        b = rd * (c1 + c2) + rpi * c1
        root = math.sqrt(b * b - 4 * a)
        p1, p2 = (b + root) / (2 * a), (b - root) / (2 * a)
        k2 = z1 / (p1 * p2)
        k1 = (1.0 - k2 * (p1 + p2)) / (p1 * p2)
        k4 = (k1 * p1 + k2) / (p2 - p1)
        self.p1, self.p2 = p1, p2
        self.k = (k0, k1, k2, -k1 - k4, k4)
        z = (c1 + c2) / (rpi * c1 * c2)
        self.abd = (z / (p1 * p2), (z - p1) / (p1 * (p1 - p2)), (z - p2) / (p2 * (p2 - p1)))
        x = self._newton([*self._start(c1 + c2), c1 + c2], self._pi_equations)
        if x is None:
            self.ceff = c1 + c2
            self.delay_s, self.slew_s = self.table(self.ceff)
            return
        self.t0, self.dt, self.ceff = x
        self.valid = True
        self.delay_s, table_slew = self.table(self.ceff)
        found = self._driver_crossings()
        self.vo_delay, self.slew_s = found if found is not None else (self.delay_s, table_slew)

    def _newton(self, x: list[float], equations) -> list[float] | None:
        """OpenSTA's Newton-Raphson: stop when every step is within `DRIVER_TOLERANCE` of its variable."""
        x = list(x)
        for _ in range(NEWTON_ITERATIONS):
            evaluated = equations(x)
            if evaluated is None:
                return None
            f, jacobian = evaluated
            try:
                step = np.linalg.solve(np.array(jacobian), -np.array(f))
            except np.linalg.LinAlgError:
                return None
            done = all(abs(s) <= abs(v) * DRIVER_TOLERANCE for s, v in zip(step, x))
            x = [v + s for v, s in zip(x, step)]
            if done:
                return [float(v) for v in x]  # the same doubles, faster in the waveforms than numpy scalars
        return None

    def _one_pole(self, x: list[float]):
        t0, dt = x
        t_vth, t_vl, _ = self._gate(self.ceff)
        if dt <= 0.0:
            dt = x[1] = (t_vl - t_vth) / 100
        y20, d20 = self._ramp(t_vl, t0, dt, self.ceff)
        y50, d50 = self._ramp(t_vth, t0, dt, self.ceff)
        return [y20 - self.th.vl, y50 - self.th.vth], [d20[:2], d50[:2]]

    def _pi_equations(self, x: list[float]):
        t0, dt, ceff = x
        if ceff > self.c1 + self.c2 or ceff < 0.0 or dt <= 0.0:
            return None
        rd = self.rd
        t_vth, t_vl, slew = self._gate(ceff)
        ceff_time = min(slew / (self.th.vh - self.th.vl), 1.4 * dt)
        p1, p2 = self.p1, self.p2
        a, b, d = self.abd
        exp_p1, exp_p2, exp_rc = math.exp(-p1 * dt), math.exp(-p2 * dt), math.exp(-dt / (rd * ceff))
        y20, d20 = self._ramp(t_vl, t0, dt, ceff)
        y50, d50 = self._ramp(t_vth, t0, dt, ceff)
        ipi_dt = (-a * dt + b * dt * exp_p1 - (2 * b / p1) * (1.0 - exp_p1) + d * dt * exp_p2
                  - (2 * d / p2) * (1.0 - exp_p2)
                  + rd * ceff * (dt + dt * exp_rc - 2 * rd * ceff * (1.0 - exp_rc))) / (rd * dt * dt * dt)
        ipi_ceff = (2 * rd * ceff - dt - (2 * rd * ceff + dt) * exp_rc) / (dt * dt)
        f = [y20 - self.th.vl, y50 - self.th.vth, self._ipi_iceff(dt, ceff_time, ceff)]
        return f, [d20, d50, [0.0, ipi_dt, ipi_ceff]]

    def _ipi_iceff(self, dt: float, ceff_time: float, ceff: float) -> float:
        a, b, d = self.abd
        rd, p1, p2 = self.rd, self.p1, self.p2
        ipi = (a * ceff_time + (b / p1) * (1.0 - math.exp(-p1 * ceff_time))
               + (d / p2) * (1.0 - math.exp(-p2 * ceff_time))) / (rd * ceff_time * dt)
        rc = rd * ceff
        iceff = (rc * ceff_time - rc * rc * (1.0 - math.exp(-ceff_time / rc))) / (rd * ceff_time * dt)
        return ipi - iceff

    def _ramp(self, t: float, t0: float, dt: float, cl: float) -> tuple[float, list[float]]:
        """The ramp's response across rd into cl at time t, with its derivatives by t0, dt and cl."""
        rc = self.rd * cl

        def y0(u):
            return u - rc * (1.0 - math.exp(-u / rc))

        def y0dt(u):
            return 1.0 - math.exp(-u / rc)

        def y0dcl(u):
            return self.rd * ((1.0 + u / rc) * math.exp(-u / rc) - 1)

        t1 = t - t0
        if t1 <= 0.0:
            return 0.0, [0.0, 0.0, 0.0]
        if t1 <= dt:
            return y0(t1) / dt, [-y0dt(t1) / dt, -y0(t1) / (dt * dt), y0dcl(t1) / dt]
        value = (y0(t1) - y0(t1 - dt)) / dt
        return value, [
            -(y0dt(t1) - y0dt(t1 - dt)) / dt,
            -(y0(t1) + y0(t1 - dt)) / (dt * dt) + y0dt(t1 - dt) / dt,
            (y0dcl(t1) - y0dcl(t1 - dt)) / dt,
        ]

    # ------------------------------------------------------------ waveforms
    def _v0(self) -> Wave:
        """The driver's response to a unit slope: t -> (v, dv/dt)."""
        p1 = self.p1
        if self.kind == "zero_c2":
            k0, k1, k2, k3 = self.k

            def wave(t):
                e = math.exp(-p1 * t)
                return k0 * (k1 + k2 * t + k3 * e), k0 * (k2 - k3 * p1 * e)

            return wave
        k0, k1, k2, k3, k4 = self.k
        p2 = self.p2

        def wave(t):
            e1, e2 = math.exp(-p1 * t), math.exp(-p2 * t)
            return k0 * (k1 + k2 * t + k3 * e1 + k4 * e2), k0 * (k2 - k3 * p1 * e1 - k4 * p2 * e2)

        return wave

    def _vl0(self, p3: float) -> Wave:
        """The response to a unit slope behind one more pole p3 (a sink): t -> (v, dv/dt)."""
        p1 = self.p1
        if self.kind == "zero_c2":
            k0, k1, k2, k3 = self.k
            d1 = k0 * (k1 - k2 / p3)
            d3 = -p3 * k0 * k3 / (p1 - p3)
            d5 = k0 * (k2 / p3 - k1 + p3 * k3 / (p1 - p3))

            def wave(t):
                e1, e3 = math.exp(-p1 * t), math.exp(-p3 * t)
                return d1 + t + d3 * e1 + d5 * e3, 1.0 - d3 * p1 * e1 - d5 * p3 * e3

            return wave
        k0, k1, k2, k3, k4 = self.k
        p2 = self.p2
        d1 = k0 * (k1 - k2 / p3)
        d3 = -p3 * k0 * k3 / (p1 - p3)
        d4 = -p3 * k0 * k4 / (p2 - p3)
        d5 = k0 * (k2 / p3 - k1 + p3 * k3 / (p1 - p3) + p3 * k4 / (p2 - p3))

        def wave(t):
            e1, e2, e3 = math.exp(-p1 * t), math.exp(-p2 * t), math.exp(-p3 * t)
            return (d1 + t + d3 * e1 + d4 * e2 + d5 * e3,
                    1.0 - d3 * p1 * e1 - d4 * p2 * e2 - d5 * p3 * e3)

        return wave

    def _crossing(self, wave: Wave, level: float) -> Wave:
        """t -> (response to the driver's ramp less `level`, its slope), the ramp (duration dt from t0) seen through
        `wave`, the response to a unit slope."""
        t0, dt = self.t0, self.dt

        def crossing(t):
            t1 = t - t0
            if t1 <= 0.0:
                return 0.0 - level, 0.0
            v, dv = wave(t1)
            if t1 <= dt:
                return v / dt - level, dv / dt
            w, dw = wave(t1 - dt)
            return (v - w) / dt - level, (dv - dw) / dt

        return crossing

    def _upper_bound(self) -> float:
        return self.t0 + self.dt + (self.c1 + self.c2) * (self.rd + self.rpi) * 2.0

    def _driver_crossings(self) -> tuple[float, float] | None:
        """(50 % crossing, 20-80 % slew) of the driver waveform, or None when a crossing is not found."""
        bound = self._upper_bound()
        wave = self._v0()
        times = [_find_root(self._crossing(wave, v), self.t0, bound) for v in (self.th.vth, self.th.vl, self.th.vh)]
        if None in times:
            return None
        return times[0], (times[2] - times[1]) / self.th.derate

    def wire(self, elmore: float) -> tuple[float, float]:
        """(delay, slew) at a sink with Elmore delay `elmore` from the driver."""
        if elmore not in self._wires:
            self._wires[elmore] = self._wire(elmore)
        return self._wires[elmore]

    def _wire(self, elmore: float) -> tuple[float, float]:
        if self.kind == "cap":
            return elmore, self.slew_s
        if elmore == 0.0:
            return 0.0, self.slew_s
        if elmore < self.slew_s * 1e-3:
            return elmore, self.slew_s
        if not self.valid:
            return elmore, self.slew_s
        wave = self._vl0(1.0 / elmore)
        bound = self._upper_bound() + elmore
        times = [_find_root(self._crossing(wave, v), self.t0, bound) for v in (self.th.vth, self.th.vl, self.th.vh)]
        if None in times:
            return elmore, self.slew_s
        delay = times[0] - self.vo_delay
        slew = (times[2] - times[1]) / self.th.derate
        return (elmore if delay < 0.0 else delay), max(slew, self.slew_s)


def _find_root(func, x1: float, x2: float) -> float | None:
    """OpenSTA's root finder: Newton-Raphson steps, bisection when they leave the bracket or slow down."""
    y1, _ = func(x1)
    y2, _ = func(x2)
    if (y1 > 0.0 and y2 > 0.0) or (y1 < 0.0 and y2 < 0.0):
        return None
    if y1 == 0.0:
        return x1
    if y2 == 0.0:
        return x2
    if y1 > 0.0:
        x1, x2 = x2, x1
    root = (x1 + x2) * 0.5
    dx_prev = dx = abs(x2 - x1)
    y, dy = func(root)
    for _ in range(ROOT_ITERATIONS):
        if ((root - x2) * dy - y) * ((root - x1) * dy - y) > 0.0 or abs(2.0 * y) > abs(dx_prev * dy):
            dx_prev = dx
            dx = (x2 - x1) * 0.5
            root = x1 + dx
        else:
            dx_prev = dx
            dx = y / dy
            root -= dx
        if abs(dx) <= CROSSING_TOLERANCE * abs(root):
            return root
        y, dy = func(root)
        if y < 0.0:
            x1 = root
        else:
            x2 = root
    return None

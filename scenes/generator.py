"""Procedural home generator: 1–3 connected rooms with furniture, toys, lights and textures.

Model-level randomization happens here, before a backend compiles the scene; per-episode state (where the
infant starts, where toys are) is the env's and the task's business.
"""

from __future__ import annotations

import colorsys
import dataclasses
import math

import numpy as np

from scenes import objects
from scenes.randomization import SceneRandomization
from scenes.spec import Light, Material, Room, SceneObject, SceneSpec, Shape, Texture

WALL_HALF_THICKNESS = 0.05
DOOR_HALF_WIDTH = 0.45
DOOR_HEIGHT = 2.0
WALL_HEIGHT = 2.4
Box2 = tuple[float, float, float, float]


class _Palette:
    """Draws colours and materials from the randomization ranges."""

    def __init__(self, rng: np.random.Generator, rand: SceneRandomization) -> None:
        self.rng = rng
        self.rand = rand
        self.materials: list[Material] = []
        self.textures: list[Texture] = []

    def color(self, sat_scale: float = 1.0, value: float | None = None) -> tuple[float, float, float]:
        h = float(self.rng.random())
        s = self.rand.sample("saturation", self.rng) * sat_scale
        v = self.rand.sample("value", self.rng) if value is None else value
        return colorsys.hsv_to_rgb(h, s, v)

    def material(self, name: str, pattern: str, rgb1: tuple[float, float, float],
                 rgb2: tuple[float, float, float] | None = None, repeat: float = 1.0,
                 alpha: float = 1.0) -> str:
        tex_name = None
        if pattern != "flat":
            tex_name = f"tex_{name}"
            rgb2 = rgb2 if rgb2 is not None else tuple(0.6 * c for c in rgb1)  # type: ignore[assignment]
            self.textures.append(Texture(tex_name, pattern, rgb1, rgb2,  # type: ignore[arg-type]
                                         seed=int(self.rng.integers(2**31)),
                                         scale=float(self.rand.sample("texture_scale", self.rng))))
        rgba = (1.0, 1.0, 1.0, alpha) if tex_name else (*rgb1, alpha)
        self.materials.append(Material(name, rgba, tex_name, (repeat, repeat)))
        return name


def _overlaps(a: Box2, b: Box2, margin: float) -> bool:
    return not (a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1])


def _wall(name: str, x0: float, y0: float, x1: float, y1: float, z0: float, z1: float, mat: str,
          room: str) -> SceneObject:
    """An axis-aligned wall segment from (x0, y0) to (x1, y1) between heights z0 and z1."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx = max(abs(x1 - x0) / 2, WALL_HALF_THICKNESS)
    hy = max(abs(y1 - y0) / 2, WALL_HALF_THICKNESS)
    hz = (z1 - z0) / 2
    return SceneObject(name, "wall", (Shape("box", (hx, hy, hz), mat, (0, 0, hz)),), (cx, cy, z0), region=room)


def _layout_rooms(rng: np.random.Generator, rand: SceneRandomization, pal: _Palette) -> list[Room]:
    n = int(rand.sample("n_rooms", rng))
    rooms: list[Room] = []
    x = 0.0
    for i in range(n):
        hx = rand.sample("room_half_size", rng)
        hy = rand.sample("room_half_size", rng)
        floor = pal.material(f"floor_{i}", str(rng.choice(["wood", "checker", "noise"])),
                             pal.color(0.5, 0.7), pal.color(0.5, 0.5), repeat=1.0)
        wall = pal.material(f"wall_{i}", str(rng.choice(["plain", "stripes", "dots"])),
                            pal.color(0.3, 0.9), pal.color(0.3, 0.8), repeat=0.8)
        rooms.append(Room(f"room_{i}", (x + hx, 0.0), (hx, hy), floor, wall))
        x += 2 * hx
    return rooms


def _build_walls(rng: np.random.Generator, rooms: list[Room]) -> tuple[list[SceneObject], list[Box2]]:
    """Walls around each room; rooms share a wall with a door gap. Returns walls and door keep-out boxes."""
    walls: list[SceneObject] = []
    doors: list[Box2] = []
    t = WALL_HALF_THICKNESS
    for i, r in enumerate(rooms):
        cx, _ = r.center
        hx, hy = r.size
        m = r.wall_material
        walls.append(_wall(f"wall_{i}_south", cx - hx - t, -hy - t, cx + hx + t, -hy - t, 0, WALL_HEIGHT, m, r.name))
        walls.append(_wall(f"wall_{i}_north", cx - hx - t, hy + t, cx + hx + t, hy + t, 0, WALL_HEIGHT, m, r.name))
        if i == 0:
            walls.append(_wall(f"wall_{i}_west", cx - hx - t, -hy, cx - hx - t, hy, 0, WALL_HEIGHT, m, r.name))
        xb = cx + hx + t
        if i == len(rooms) - 1:
            walls.append(_wall(f"wall_{i}_east", xb, -hy, xb, hy, 0, WALL_HEIGHT, m, r.name))
            continue
        nxt = rooms[i + 1]
        span = max(hy, nxt.size[1])
        overlap = min(hy, nxt.size[1]) - DOOR_HALF_WIDTH - 0.2
        d = float(rng.uniform(-overlap, overlap))
        walls.append(_wall(f"wall_{i}_door_a", xb, -span, xb, d - DOOR_HALF_WIDTH, 0, WALL_HEIGHT, m, r.name))
        walls.append(_wall(f"wall_{i}_door_b", xb, d + DOOR_HALF_WIDTH, xb, span, 0, WALL_HEIGHT, m, r.name))
        walls.append(_wall(f"wall_{i}_lintel", xb, d - DOOR_HALF_WIDTH, xb, d + DOOR_HALF_WIDTH, DOOR_HEIGHT,
                           WALL_HEIGHT, m, r.name))
        doors.append((xb - 0.7, d - DOOR_HALF_WIDTH, xb + 0.7, d + DOOR_HALF_WIDTH))
    return walls, doors


def free_point(rng: np.random.Generator, room: Room, occupied: list[Box2], half: float,
               margin: float = 0.1, tries: int = 200) -> tuple[float, float] | None:
    """A point in ``room`` where a square of half-size ``half`` fits clear of ``occupied``."""
    cx, cy = room.center
    hx, hy = room.size[0] - half - margin, room.size[1] - half - margin
    for _ in range(tries):
        x, y = float(rng.uniform(cx - hx, cx + hx)), float(rng.uniform(cy - hy, cy + hy))
        box = (x - half, y - half, x + half, y + half)
        if not any(_overlaps(box, o, margin) for o in occupied):
            return x, y
    return None


def _place_furniture(rng: np.random.Generator, rand: SceneRandomization, pal: _Palette, room: Room,
                     occupied: list[Box2], index: int) -> list[SceneObject]:
    placed: list[SceneObject] = []
    kinds = list(objects.FURNITURE)
    n = int(rand.sample("furniture_per_room", rng))
    picks = [str(k) for k in rng.choice(kinds, size=min(n, len(kinds)), replace=False)]
    cx, cy = room.center
    hx, hy = room.size
    for j, kind in enumerate(picks):
        mats = {
            "main": pal.material(f"{room.name}_{kind}_main", str(rng.choice(["noise", "wood", "flat"])), pal.color()),
            "accent": pal.material(f"{room.name}_{kind}_accent", "flat", pal.color()),
            "rug": pal.material(f"{room.name}_{kind}_rug", str(rng.choice(["checker", "stripes", "dots"])),
                                pal.color(), pal.color(), repeat=1.5),
        }
        builder = objects.FURNITURE[kind]
        for _ in range(60):
            if kind in ("sofa", "shelf", "bed"):  # backs against a wall
                side = int(rng.integers(4))
                yaw = (0.0, math.pi, -math.pi / 2, math.pi / 2)[side]
                probe = builder("probe", (0, 0, 0), yaw, mats)
                fx0, fy0, fx1, fy1 = probe.footprint()
                if side == 0:
                    pos = (float(rng.uniform(cx - hx - fx0, cx + hx - fx1)), cy - hy - fy0 + 0.01)
                elif side == 1:
                    pos = (float(rng.uniform(cx - hx - fx0, cx + hx - fx1)), cy + hy - fy1 - 0.01)
                elif side == 2:
                    pos = (cx - hx - fx0 + 0.01, float(rng.uniform(cy - hy - fy0, cy + hy - fy1)))
                else:
                    pos = (cx + hx - fx1 - 0.01, float(rng.uniform(cy - hy - fy0, cy + hy - fy1)))
            else:
                yaw = float(rng.choice([0.0, math.pi / 2]))
                probe = builder("probe", (0, 0, 0), yaw, mats)
                fx0, fy0, fx1, fy1 = probe.footprint()
                pos = (float(rng.uniform(cx - hx - fx0 + 0.3, cx + hx - fx1 - 0.3)),
                       float(rng.uniform(cy - hy - fy0 + 0.3, cy + hy - fy1 - 0.3)))
            obj = builder(f"{kind}_{index}_{j}", (pos[0], pos[1], 0.0), yaw, mats)
            fp = obj.footprint()
            inside = fp[0] >= cx - hx - 0.02 and fp[2] <= cx + hx + 0.02 and fp[1] >= cy - hy - 0.02 and \
                fp[3] <= cy + hy + 0.02
            if inside and (not obj.blocks_infant or not any(_overlaps(fp, o, 0.15) for o in occupied)):
                obj = dataclasses.replace(obj, region=room.name)
                placed.append(obj)
                if obj.blocks_infant:
                    occupied.append(fp)
                break
    return placed


def _place_toys(rng: np.random.Generator, rand: SceneRandomization, pal: _Palette, rooms: list[Room],
                occupied: list[Box2]) -> list[SceneObject]:
    toys: list[SceneObject] = []
    yellow = pal.material("toy_duck_body", "flat", (0.98, 0.85, 0.1))
    orange = pal.material("toy_duck_beak", "flat", (0.95, 0.45, 0.05))
    n = int(rand.sample("n_toys", rng))
    for i in range(n + 1):
        room = rooms[int(rng.integers(len(rooms)))]
        xy = free_point(rng, room, occupied, 0.12)
        if xy is None:
            continue
        pos = (xy[0], xy[1], 0.0)
        if i == 0:
            toy = objects.duck("duck", pos, yellow, orange)
        else:
            kind = str(rng.choice(["ball", "block", "stacker"]))
            mat = pal.material(f"toy_{i}", str(rng.choice(["flat", "dots", "stripes"])), pal.color(1.3, 0.9),
                               pal.color(), repeat=4.0)
            if kind == "ball":
                toy = objects.ball(f"ball_{i}", pos, mat)
            elif kind == "block":
                toy = objects.block(f"block_{i}", pos, mat)
            else:
                rings = tuple(pal.material(f"toy_{i}_ring{k}", "flat", pal.color(1.3, 0.9)) for k in range(3))
                toy = objects.stacker(f"stacker_{i}", pos, rings, mat)
        toys.append(toy)
        occupied.append((xy[0] - 0.12, xy[1] - 0.12, xy[0] + 0.12, xy[1] + 0.12))
    return toys


def _lights(rng: np.random.Generator, rand: SceneRandomization, rooms: list[Room]) -> list[Light]:
    lights = []
    n = int(rand.sample("n_lights", rng))
    for i in range(max(n, len(rooms))):
        room = rooms[i % len(rooms)]
        k = rand.sample("light_intensity", rng)
        w = rand.sample("light_warmth", rng)
        color = (k * (1 + 0.3 * w), k, k * (1 - 0.3 * w))
        x = room.center[0] + float(rng.uniform(-0.5, 0.5)) * room.size[0]
        y = room.center[1] + float(rng.uniform(-0.5, 0.5)) * room.size[1]
        lights.append(Light(f"light_{i}", (x, y, WALL_HEIGHT - 0.05), color))
    return lights


def generate_home(rng: np.random.Generator, randomization: SceneRandomization | None = None,
                  seed: int = 0) -> SceneSpec:
    """A procedural home drawn from ``rng`` within ``randomization``'s ranges.

    With a fixed randomization (``no_random()``) the result is the canonical home for every ``rng``.
    ``seed`` is only recorded in the spec.
    """
    rand = randomization if randomization is not None else SceneRandomization()
    if rand.is_fixed:
        rng = np.random.default_rng(0)
    pal = _Palette(rng, rand)
    rooms = _layout_rooms(rng, rand, pal)
    walls, doors = _build_walls(rng, rooms)
    # Keep the spawn area and the doors clear of furniture so every room is reachable.
    spawn_room = rooms[0]
    sx, sy = spawn_room.center
    spawn_keepout: Box2 = (sx - 0.5, sy - 0.5, sx + 0.5, sy + 0.5)
    occupied: list[Box2] = [spawn_keepout, *doors]
    furniture: list[SceneObject] = []
    for i, room in enumerate(rooms):
        furniture += _place_furniture(rng, rand, pal, room, occupied, i)
    occupied.remove(spawn_keepout)
    toys = _place_toys(rng, rand, pal, rooms, occupied + [spawn_keepout])
    spawn = (sx + float(rng.uniform(-0.2, 0.2)), sy + float(rng.uniform(-0.2, 0.2)),
             float(rng.uniform(-math.pi, math.pi)))
    return SceneSpec(
        seed=seed,
        rooms=tuple(rooms),
        objects=tuple(walls + furniture + toys),
        materials=tuple(pal.materials),
        textures=tuple(pal.textures),
        lights=tuple(_lights(rng, rand, rooms)),
        spawn=spawn,
        wall_height=WALL_HEIGHT,
        camera_height_offset=float(rand.sample("camera_height_jitter", rng)),
        camera_fov_offset=float(rand.sample("camera_fov_jitter", rng)),
        ambient=float(rand.sample("ambient", rng)),
    )

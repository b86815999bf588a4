"""The mini world's vocabulary and its scene type.

Everything here is fixed by the world's specification: colours, backgrounds, shapes, sizes and the
3x3 grid of positions. Objects sit at the centre of their grid cell, so a scene is a finite, discrete
thing that can be rendered exactly and read back exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RGB = tuple[int, int, int]

BACKGROUNDS: dict[str, RGB] = {
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "gray": (128, 128, 128),
    "beige": (225, 210, 170),
    "sky": (150, 195, 235),
}
COLOURS: dict[str, RGB] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 40),
    "purple": (140, 60, 190),
    "orange": (245, 140, 30),
    "pink": (240, 120, 180),
    "cyan": (40, 200, 210),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond")
SIZES: tuple[str, ...] = ("small", "large")
# Bounding-box side as a fraction of the canvas side: "about 1/6" and "about 1/3", the large one a
# little under a third so that objects in neighbouring cells never touch.
SIZE_FRACTION: dict[str, float] = {"small": 3 / 16, "large": 5 / 16}
# Row-major 3x3 grid: cell = 3 * row + column.
POSITIONS: tuple[str, ...] = (
    "top left",
    "top",
    "top right",
    "left",
    "center",
    "right",
    "bottom left",
    "bottom",
    "bottom right",
)
NUMBERS: dict[int, str] = {1: "one", 2: "two", 3: "three", 4: "four"}
RELATIONS: dict[str, str] = {
    "left_of": "to the left of",
    "right_of": "to the right of",
    "above": "above",
    "below": "below",
}


def cell_row_col(cell: int) -> tuple[int, int]:
    return divmod(cell, 3)


def relation_holds(relation: str, cell_a: int, cell_b: int) -> bool:
    """Whether object A (in cell_a) stands in `relation` to object B, judged between centroids."""
    (ra, ca), (rb, cb) = cell_row_col(cell_a), cell_row_col(cell_b)
    return {
        "left_of": ca < cb,
        "right_of": ca > cb,
        "above": ra < rb,
        "below": ra > rb,
    }[relation]


@dataclass(frozen=True, order=True)
class Obj:
    """One object of a scene. `cell` is the grid cell (0..8, row-major) its centre sits in."""

    cell: int
    shape: str
    colour: str
    size: str

    @property
    def kind(self) -> tuple[str, str]:
        return (self.colour, self.shape)

    @property
    def position(self) -> str:
        return POSITIONS[self.cell]


@dataclass(frozen=True)
class Scene:
    """A background and at most one object per grid cell, kept sorted by cell."""

    background: str
    objects: tuple[Obj, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.objects))
        object.__setattr__(self, "objects", ordered)
        cells = [o.cell for o in ordered]
        if len(set(cells)) != len(cells):
            raise ValueError("two objects share a grid cell")
        if self.background not in BACKGROUNDS:
            raise ValueError(f"unknown background {self.background!r}")
        for o in ordered:
            if o.shape not in SHAPES or o.colour not in COLOURS or o.size not in SIZES:
                raise ValueError(f"object outside the world: {o}")
            if not 0 <= o.cell < 9:
                raise ValueError(f"cell out of the grid: {o.cell}")

    @property
    def free_cells(self) -> list[int]:
        used = {o.cell for o in self.objects}
        return [c for c in range(9) if c not in used]

    def of_kind(self, colour: str | None, shape: str) -> list[Obj]:
        return [o for o in self.objects if o.shape == shape and (colour is None or o.colour == colour)]

    def replace(self, old: Obj | None, new: Obj | None, background: str | None = None) -> Scene:
        objs = [o for o in self.objects if o != old]
        if new is not None:
            objs.append(new)
        return Scene(background or self.background, tuple(objs))

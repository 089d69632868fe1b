"""What the study's parts (coercivity_plan.py, textures_plan.py) share: a part is the entries of one ``task`` in
the study's ``entries`` plus a settings block of the same name (``coercivity:``, ``textures:``), with its own jobs
and report section."""

from __future__ import annotations

from collections.abc import Callable

from omegaconf import OmegaConf


def part_config(cfg, part: str) -> dict | None:
    """The study's ``<part>:`` block as plain data, or None when the study has none."""
    c = cfg.get(part)
    return None if c is None else OmegaConf.to_container(c, resolve=True)


def part_entries(cfg, part: str, from_config: Callable[[dict], object], settings: str) -> list:
    """The study's entries of ``task: <part>`` (in config order), each read by ``from_config``; they need the
    part's block (``settings`` names what it holds, for the error)."""
    entries = [from_config(dict(d)) for d in cfg.entries if d.get("task") == part]
    if entries and part_config(cfg, part) is None:
        raise ValueError(f"entries {[e.id for e in entries]} of task {part} need the study's {part}: settings "
                         f"({settings})")
    return entries

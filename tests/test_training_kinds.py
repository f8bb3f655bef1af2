"""The data-kind hook of the training loop: lookup, errors and registration."""

from __future__ import annotations

import pytest

from jetpointnet.errors import UserError
from jetpointnet.training.config import TaskConfig
from jetpointnet.training.kinds import KINDS, Kind, kind_of, register_kind
from jetpointnet.training.tasks import TASKS, BinaryTask, make_task, register_task


def test_folders_without_kind_are_per_track():
    assert kind_of({}, where="prep").name == "track"
    assert kind_of({"kind": "track"}, where="prep") is KINDS["track"]


def test_unknown_kind_is_one_line_with_closest():
    with pytest.raises(UserError, match=r"prep: unknown data kind 'trak'.*track"):
        kind_of({"kind": "trak"}, where="prep")


def test_a_kind_registers_once():
    with pytest.raises(ValueError, match="already registered"):
        register_kind(
            Kind(
                "track",
                KINDS["track"].make_streams,
                KINDS["track"].build_model,
                KINDS["track"].forward,
            )
        )


def test_tasks_register_once_and_unknown_names_fail_cleanly():
    with pytest.raises(ValueError, match="already registered"):
        register_task(BinaryTask)
    cfg = TaskConfig(name="event")  # a valid name whose module is not imported here
    if "event" not in TASKS:
        with pytest.raises(UserError, match="unknown task 'event'"):
            make_task(cfg)

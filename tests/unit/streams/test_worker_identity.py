"""Each worker holds its data directory, which names its static consumer group membership."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kam.settings import WorkerSettings
from streams.app import group_instance_id
from streams.worker import DataDirInUse, lock_data_dir


def test_the_membership_id_follows_the_data_directory(tmp_path: Path) -> None:
    first = WorkerSettings(data_dir=tmp_path / "a")
    assert group_instance_id(first) == group_instance_id(WorkerSettings(data_dir=tmp_path / "a"))
    assert group_instance_id(first) != group_instance_id(WorkerSettings(data_dir=tmp_path / "b"))


def test_one_live_worker_per_data_directory(tmp_path: Path) -> None:
    worker = WorkerSettings(data_dir=tmp_path / "w")
    held = lock_data_dir(worker)
    try:
        with pytest.raises(DataDirInUse, match=f"process {os.getpid()} .*KAM_WORKER_DATA_DIR"):
            lock_data_dir(worker)
        other = lock_data_dir(WorkerSettings(data_dir=tmp_path / "other"))
        other.release()
    finally:
        held.release()
    lock_data_dir(worker).release()  # free again once released
